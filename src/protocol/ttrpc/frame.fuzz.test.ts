/**
 * Mutation fuzzing of ttrpc framing and message decoding: garbage streams, inflated length
 * fields, split reads, and mutated protobuf Request/Response and AA/CDH payloads. Property: frames
 * or a `TtrpcError` with a code; the decoder never buffers more than one frame's limit.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate, Rng } from "../../../test/helpers/fuzz.js";
import { AaMessages } from "./api/attestation-agent.js";
import { CdhMessages } from "./api/cdh.js";
import { TtrpcError } from "./errors.js";
import { encodeFrame, FrameDecoder, HEADER_LENGTH, parseFrame } from "./frame.js";
import { RequestCodec, ResponseCodec } from "./messages.js";

const MAX = 64 * 1024;

function seedStream(): Uint8Array {
  const req = RequestCodec.encode({
    service: "attestation_agent.AttestationAgentService",
    method: "GetEvidence",
    payload: AaMessages.GetEvidenceRequest.encode({ RuntimeData: new Uint8Array([1, 2, 3]) }),
    timeoutNano: 5_000_000_000n,
  });
  const resp = ResponseCodec.encode({ payload: new Uint8Array(40).fill(7) });
  return Buffer.concat([
    encodeFrame({ streamId: 1, type: 1, flags: 0, payload: req }),
    encodeFrame({ streamId: 1, type: 2, flags: 0, payload: resp }),
    encodeFrame({ streamId: 3, type: 3, flags: 1, payload: new Uint8Array(0) }),
  ]);
}

describe("ttrpc fuzzing", () => {
  test("mutated frame streams in random chunks give frames or a coded TtrpcError", async (t) => {
    const seed = seedStream();
    const stats = await fuzz({
      name: "ttrpc-frames",
      seed: 0x77,
      iterations: 6000,
      errorClass: TtrpcError,
      gen: (rng) => ({
        bytes: rng.chance(0.1)
          ? rng.bytes(rng.int(300))
          : mutate(rng, seed, { lengthOffsets: [0], boundaries: [0, 4, 8, HEADER_LENGTH] }),
        split: rng.u32(),
      }),
      target: ({ bytes, split }) => {
        const rng = new Rng(split);
        const dec = new FrameDecoder(MAX);
        let i = 0;
        while (i < bytes.length) {
          const n = 1 + rng.int(64);
          for (const f of dec.push(bytes.subarray(i, i + n))) {
            assert.ok(f.payload.length <= MAX);
            if (f.type === 1) RequestCodec.decode(f.payload);
            else if (f.type === 2) ResponseCodec.decode(f.payload);
          }
          // Never more than one frame's worth (header + limit) held back.
          assert.ok(dec.buffered() <= HEADER_LENGTH + MAX + 64, `buffered ${dec.buffered()}`);
          i += n;
        }
        if (bytes.length >= HEADER_LENGTH) parseFrame(bytes.subarray(0, HEADER_LENGTH + 200));
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });

  test("mutated AA and CDH payloads decode or throw a coded TtrpcError", async (t) => {
    const codecs = [...Object.values(AaMessages), ...Object.values(CdhMessages)] as {
      decode(b: Uint8Array): unknown;
      encode(v: object): Uint8Array;
    }[];
    const samples = [
      AaMessages.GetTokenRequest.encode({ TokenType: "kbs" }),
      AaMessages.ExtendRuntimeMeasurementRequest.encode({
        Domain: "d",
        Operation: "o",
        Content: "c",
      }),
      RequestCodec.encode({
        service: "s",
        method: "m",
        payload: new Uint8Array(8),
        metadata: [{ key: "k", value: "v" }],
      }),
    ];
    const stats = await fuzz({
      name: "ttrpc-messages",
      seed: 0x78,
      iterations: 6000,
      errorClass: TtrpcError,
      gen: (rng) => ({
        codec: rng.int(codecs.length),
        bytes: rng.chance(0.2) ? rng.bytes(rng.int(64)) : mutate(rng, rng.pick(samples)),
      }),
      show: (x) => `codec ${x.codec}: ${Buffer.from(x.bytes).toString("hex").slice(0, 200)}`,
      target: ({ codec, bytes }) => codecs[codec]!.decode(bytes),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });
});
