import assert from "node:assert/strict";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, test } from "node:test";
import { constants, zstdCompressSync } from "node:zlib";
import { hasCode } from "../../errors.js";
import { createDecompressStages, isZlibErrorCode } from "./decompress.js";

/** Decompresses `chunks` as zstd, returning the output. */
async function unzstd(chunks: Uint8Array[]): Promise<Buffer> {
  const stages = createDecompressStages("zstd");
  const out: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      out.push(c);
      cb();
    },
  });
  await pipeline([Readable.from(chunks.map((c) => Buffer.from(c))), ...stages, sink]);
  return Buffer.concat(out);
}

const text = Buffer.from("confidential layer bytes ".repeat(40_000));

describe("zstd layer decompression (node:zlib)", () => {
  test("decompresses concatenated frames and skippable frames, in small chunks", async () => {
    const a = zstdCompressSync(text, { params: { [constants.ZSTD_c_checksumFlag]: 1 } });
    const b = zstdCompressSync(Buffer.from("tail"));
    // A skippable frame (magic 0x184D2A5?, 4-byte length, payload) between them.
    const skip = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const all = Buffer.concat([a, skip, b]);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < all.length; i += 7) chunks.push(all.subarray(i, i + 7));
    assert.deepEqual(await unzstd(chunks), Buffer.concat([text, Buffer.from("tail")]));
  });

  test("refuses a frame declaring a 2 GB window before decoding it", async () => {
    const hostile = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 0x01, 0x00, 0x00]);
    await assert.rejects(unzstd([hostile]), (e) => hasCode(e, "ERR_OCI_DECOMPRESS"));
  });

  test("a truncated or corrupt stream fails with a zlib code the pipeline classifies", async () => {
    const good = zstdCompressSync(text);
    await assert.rejects(unzstd([good.subarray(0, good.length - 5)]), (e: { code?: unknown }) =>
      isZlibErrorCode(e.code),
    );
    const corrupt = Buffer.from(good);
    for (let i = 20; i < 60; i++) corrupt[i] = 0xff;
    await assert.rejects(
      unzstd([corrupt]),
      (e: { code?: unknown }) => isZlibErrorCode(e.code) || hasCode(e, "ERR_OCI_DECOMPRESS"),
    );
  });

  test("gzip and uncompressed layers keep their transforms", () => {
    assert.deepEqual(createDecompressStages("none"), []);
    assert.equal(createDecompressStages("gzip").length, 1);
  });
});
