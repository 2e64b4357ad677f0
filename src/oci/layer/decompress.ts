/**
 * Layer decompression as streaming transforms: gzip (node:zlib, multi-member) and zstd (fzstd,
 * pure JS, because Node 20's zlib has no zstd). This file is the one entry to `fzstd`.
 */
import { Transform } from "node:stream";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";
import { OciError } from "../errors.js";
import type { Compression } from "../media-types.js";
import { ZstdGuard } from "./zstd-guard.js";

const OUT_CHUNK = 256 * 1024;

/** A transform that decompresses `compression`, or undefined for uncompressed layers. */
export function createDecompressor(compression: Compression): Transform | undefined {
  switch (compression) {
    case "none":
      return undefined;
    case "gzip":
      return createGunzip({ chunkSize: OUT_CHUNK });
    case "zstd":
      return createZstdTransform();
  }
}

function createZstdTransform(): Transform {
  let out: Transform | undefined;
  const guard = new ZstdGuard();
  const z = new Decompress((chunk) => {
    // fzstd reuses no buffers across calls, so pushing the view is safe.
    out?.push(chunk);
  });
  out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        // Frame headers are checked before fzstd sees them (it allocates the window up front).
        guard.feed(chunk);
        z.push(chunk);
        cb();
      } catch (err) {
        cb(
          err instanceof OciError
            ? err
            : new OciError("ERR_OCI_DECOMPRESS", `zstd: ${(err as Error).message}`, { cause: err }),
        );
      }
    },
    flush(cb) {
      try {
        z.push(new Uint8Array(0), true);
        cb();
      } catch (err) {
        cb(new OciError("ERR_OCI_DECOMPRESS", `zstd: ${(err as Error).message}`, { cause: err }));
      }
    },
  });
  return out;
}
