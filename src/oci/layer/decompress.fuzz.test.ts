/**
 * Mutation fuzzing of layer decompression (zstd through node:zlib's libzstd behind the frame
 * guard, gzip through zlib) on mutated compressed streams made by the real `zstd` tool and
 * node's gzip. Property: the stream finishes or fails with an `OciError` (the frame guard) or a
 * zlib error code (`Z_*`, `ZSTD_error_*`, which the layer pipeline classifies as
 * ERR_OCI_DECOMPRESS), within the hang bound, and never inflates past a bound (a decompression
 * bomb from a few mutated bytes).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { describeStats, fuzz, mutate } from "../../../test/helpers/fuzz.js";
import { OciError } from "../errors.js";
import { createDecompressStages, isZlibErrorCode } from "./decompress.js";

const OUT_BOUND = 256 * 1024 * 1024;
const hasZstd = spawnSync("zstd", ["--version"]).status === 0;

function plain(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 2000; i++) parts.push(Buffer.from(`line ${i} ${"abc".repeat(i % 17)}\n`));
  parts.push(Buffer.alloc(100_000, 0));
  return Buffer.concat(parts);
}

async function drain(kind: "zstd" | "gzip", bytes: Uint8Array): Promise<number> {
  const stages = createDecompressStages(kind);
  assert.ok(stages.length > 0);
  let n = 0;
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      n += c.length;
      cb(n > OUT_BOUND ? new Error(`inflated past ${OUT_BOUND} bytes`) : null);
    },
  });
  await pipeline([Readable.from([Buffer.from(bytes)]), ...stages, sink]);
  return n;
}

describe("layer decompression fuzzing", () => {
  test("mutated zstd streams finish or fail with a coded OciError", {
    skip: hasZstd ? false : "zstd tool not installed",
  }, async (t) => {
    const seed = spawnSync("zstd", ["-q", "-c", "--content-size", "-3"], { input: plain() })
      .stdout as Buffer;
    assert.ok(seed.length > 0);
    const seedU8 = new Uint8Array(seed);
    const stats = await fuzz({
      name: "zstd",
      seed: 0x25d,
      iterations: 800,
      errorClass: OciError,
      accept: (e) => isZlibErrorCode((e as { code?: unknown })?.code),
      gen: (rng) =>
        mutate(rng, seedU8, { lengthOffsets: [4, 5, 6, 10, 14], boundaries: [4, 5, 6, 14, 17] }),
      show: (b) => `${b.length} bytes, head ${Buffer.from(b.subarray(0, 32)).toString("hex")}`,
      target: (b) => drain("zstd", b),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });

  test("mutated gzip streams finish or fail with a zlib error", async (t) => {
    const seed = new Uint8Array(gzipSync(plain()));
    const stats = await fuzz({
      name: "gzip",
      seed: 0x621,
      iterations: 800,
      errorClass: OciError,
      accept: (e) => isZlibErrorCode((e as { code?: unknown })?.code),
      gen: (rng) =>
        mutate(rng, seed, {
          lengthOffsets: [seed.length - 4, seed.length - 8],
          boundaries: [10, seed.length - 8],
        }),
      target: (b) => drain("gzip", b),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
