import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { hasCode } from "../../errors.js";
import { ZstdGuard } from "./zstd-guard.js";

const zstdMissing =
  spawnSync("zstd", ["--version"]).status === 0 ? false : "zstd tool not installed";

function zstd(input: Buffer, args: string[]): Buffer {
  const r = spawnSync("zstd", ["-q", "-c", ...args], { input, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0);
  return r.stdout;
}

describe("zstd frame guard", () => {
  test("walks real multi-frame streams from the zstd tool, byte by byte and whole", {
    skip: zstdMissing,
  }, () => {
    const a = zstd(Buffer.concat([randomBytes(300_000), Buffer.alloc(300_000, 1)]), [
      "-3",
      "--check",
    ]);
    const b = zstd(Buffer.alloc(10, 2), ["-19", "--no-check"]);
    const stream = Buffer.concat([a, b]);
    new ZstdGuard().feed(stream);
    const g = new ZstdGuard();
    for (const byte of stream) g.feed(Uint8Array.of(byte));
  });
  test("refuses a window larger than the limit before decoding", { skip: zstdMissing }, () => {
    const big = zstd(Buffer.alloc(1000), ["--long=30", "-3"]);
    assert.throws(
      () => new ZstdGuard(1 << 27).feed(big),
      (e) => hasCode(e, "ERR_OCI_DECOMPRESS"),
    );
    // A hand-made header declaring a 2 GB window (window descriptor 0xA8 → 2^31).
    const hostile = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 0x01, 0x00, 0x00]);
    assert.throws(
      () => new ZstdGuard().feed(hostile),
      (e) => hasCode(e, "ERR_OCI_DECOMPRESS"),
    );
  });
  test("refuses garbage magic and reserved bits", () => {
    assert.throws(
      () => new ZstdGuard().feed(Buffer.from("garbage!")),
      (e) => hasCode(e, "ERR_OCI_DECOMPRESS"),
    );
    assert.throws(
      () => new ZstdGuard().feed(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x08])),
      (e) => hasCode(e, "ERR_OCI_DECOMPRESS"),
    );
  });
});
