import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeFrame, FrameDecoder, MAX_PAYLOAD, parseFrame } from "./frame.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("ttrpc framing", () => {
  test("encodes the 10-byte big-endian header before the payload", () => {
    const f = encodeFrame({
      streamId: 3,
      type: 1,
      flags: 0,
      payload: new Uint8Array([0xaa, 0xbb]),
    });
    assert.equal(hex(f), "00000002" + "00000003" + "01" + "00" + "aabb");
  });

  test("decodes frames split at every byte boundary and several per chunk", () => {
    const a = encodeFrame({ streamId: 1, type: 1, flags: 0, payload: new Uint8Array([1, 2, 3]) });
    const b = encodeFrame({ streamId: 3, type: 2, flags: 4, payload: new Uint8Array(0) });
    const all = Buffer.concat([a, b]);
    for (let cut = 0; cut <= all.length; cut++) {
      const dec = new FrameDecoder();
      const frames = [...dec.push(all.subarray(0, cut)), ...dec.push(all.subarray(cut))];
      assert.equal(frames.length, 2);
      assert.deepEqual([...(frames[0]?.payload ?? [])], [1, 2, 3]);
      assert.equal(frames[1]?.streamId, 3);
      assert.equal(frames[1]?.flags, 4);
      assert.equal(dec.buffered(), 0);
    }
  });

  test("rejects a header announcing more than 4 MiB before buffering the payload", () => {
    const head = new Uint8Array(10);
    new DataView(head.buffer).setUint32(0, MAX_PAYLOAD + 1);
    assert.throws(() => new FrameDecoder().push(head), { code: "ERR_TTRPC_FRAME_TOO_LARGE" });
  });

  test("accepts exactly 4 MiB and refuses to encode more", () => {
    const dec = new FrameDecoder();
    const frames = dec.push(
      encodeFrame({ streamId: 1, type: 1, flags: 0, payload: new Uint8Array(MAX_PAYLOAD) }),
    );
    assert.equal(frames[0]?.payload.length, MAX_PAYLOAD);
    assert.throws(
      () =>
        encodeFrame({ streamId: 1, type: 1, flags: 0, payload: new Uint8Array(MAX_PAYLOAD + 1) }),
      { code: "ERR_TTRPC_FRAME_TOO_LARGE" },
    );
  });

  test("parseFrame reports truncation and trailing garbage", () => {
    const f = encodeFrame({ streamId: 1, type: 1, flags: 0, payload: new Uint8Array([9, 9]) });
    assert.throws(() => parseFrame(f.subarray(0, 5)), { code: "ERR_TTRPC_FRAME_TRUNCATED" });
    assert.throws(() => parseFrame(f.subarray(0, 11)), { code: "ERR_TTRPC_FRAME_TRUNCATED" });
    assert.throws(() => parseFrame(Buffer.concat([f, Buffer.from([0])])), {
      code: "ERR_TTRPC_BAD_FRAME",
    });
    assert.equal(parseFrame(f).streamId, 1);
  });

  test("frames encoded one after another are independent (pooled buffers), max ids too", () => {
    const frames = Array.from({ length: 300 }, (_, i) =>
      encodeFrame({
        streamId: 0xffffffff - i,
        type: 2,
        flags: i & 0xff,
        payload: Buffer.alloc(i % 97, i),
      }),
    );
    frames.forEach((f, i) => {
      const d = parseFrame(f);
      assert.equal(d.streamId, 0xffffffff - i);
      assert.equal(d.flags, i & 0xff);
      assert.deepEqual(Buffer.from(d.payload), Buffer.alloc(i % 97, i));
    });
  });

  test("decoded payloads stay intact while more chunks arrive", () => {
    const dec = new FrameDecoder();
    const a = encodeFrame({ streamId: 1, type: 1, flags: 0, payload: Buffer.from("first") });
    const b = encodeFrame({ streamId: 3, type: 1, flags: 0, payload: Buffer.from("second") });
    const [fa] = dec.push(Buffer.concat([a, b.subarray(0, 4)]));
    const [fb] = dec.push(Buffer.from(b.subarray(4)));
    assert.equal(Buffer.from(fa?.payload ?? []).toString(), "first");
    assert.equal(Buffer.from(fb?.payload ?? []).toString(), "second");
    assert.equal(dec.buffered(), 0);
  });
});
