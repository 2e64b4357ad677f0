/**
 * Layer decompression as streaming transforms: gzip (node:zlib, multi-member) and zstd (fzstd,
 * pure JS, because Node 20's zlib has no zstd). This file is the one entry to `fzstd`.
 */
import { Transform } from "node:stream";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";
import { OciError } from "../errors.js";
import type { Compression } from "../media-types.js";

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
  const z = new Decompress((chunk) => {
    // fzstd reuses no buffers across calls, so pushing the view is safe.
    out?.push(chunk);
  });
  out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        z.push(chunk);
        cb();
      } catch (err) {
        cb(new OciError("ERR_OCI_DECOMPRESS", `zstd: ${(err as Error).message}`, { cause: err }));
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
