/**
 * Layer decompression as streaming transforms, both in node:zlib: gzip (multi-member) and zstd
 * (libzstd, Node 24). zstd frame headers pass the {@link ZstdGuard} first, and libzstd itself
 * refuses windows over the same limit (`ZSTD_d_windowLogMax`), so a declared 2 GB window is an
 * error before anything is allocated. zlib errors carry `Z_*` or `ZSTD_error_*` codes, which
 * the layer pipeline classifies as ERR_OCI_DECOMPRESS.
 */
import { type Duplex, Transform } from "node:stream";
// A namespace import: on a Node.js without zstd this module still loads, so entry points can
// report ERR_NODE_VERSION instead of failing to link.
import * as zlib from "node:zlib";
import { OciError } from "../errors.js";
import type { Compression } from "../media-types.js";
import { ZSTD_MAX_WINDOW, ZstdGuard } from "./zstd-guard.js";

const OUT_CHUNK = 256 * 1024;

/**
 * The pipeline stages that decompress `compression`, in order: none for uncompressed layers,
 * gunzip for gzip, the frame guard then libzstd for zstd.
 */
export function createDecompressStages(compression: Compression): Duplex[] {
  switch (compression) {
    case "none":
      return [];
    case "gzip":
      return [zlib.createGunzip({ chunkSize: OUT_CHUNK })];
    case "zstd":
      return createZstdStages();
  }
}

/** True when `code` is a node:zlib error code (gzip `Z_*`, zstd `ZSTD_error_*`). */
export function isZlibErrorCode(code: unknown): boolean {
  return typeof code === "string" && (code.startsWith("Z_") || code.startsWith("ZSTD_error_"));
}

function createZstdStages(): Duplex[] {
  const guard = new ZstdGuard();
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        guard.feed(chunk);
        cb(null, chunk);
      } catch (err) {
        cb(
          err instanceof OciError
            ? err
            : new OciError("ERR_OCI_DECOMPRESS", `zstd: ${(err as Error).message}`, { cause: err }),
        );
      }
    },
  });
  const zstd = zlib.createZstdDecompress({
    chunkSize: OUT_CHUNK,
    params: { [zlib.constants.ZSTD_d_windowLogMax]: Math.log2(ZSTD_MAX_WINDOW) },
  });
  return [check, zstd];
}
