/**
 * One streaming pass per layer: blob bytes → size and digest check → ocicrypt decryption
 * (HMAC checked at EOF) → decompression → diff_id check → unpack into a root directory.
 * The root is a staging directory: nothing is committed until every check of every layer passed.
 */
import { type Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createDigestVerifier, parseDigest } from "../digest.js";
import { OciError } from "../errors.js";
import type { Descriptor } from "../manifest.js";
import { layerKind } from "../media-types.js";
import type { UnpackRules } from "../unpack/rules.js";
import { createInProcessSink, type LayerSink, type UnpackSummary } from "../unpack/sink.js";
import type { UnpackWorker } from "../unpack/worker.js";
import { createDecompressStages, isZlibErrorCode } from "./decompress.js";
import { type DecryptionKeys, unwrapLayerKey } from "./keys.js";
import { ANNOTATION_PUBOPTS, LayerDecryptor, parsePublicOptions } from "./ocicrypt.js";

/** Size of the pieces the blob is hashed, decrypted and inflated in. */
const BATCH_BYTES = 1 << 20;

/** Inputs for {@link applyLayer}. */
export interface ApplyLayerOptions {
  /** The blob bytes as stored (encrypted and/or compressed). */
  blob: Readable;
  descriptor: Descriptor;
  /** The config's diff_id for this layer (digest of the uncompressed tar). */
  diffId: string;
  root: string;
  rules: UnpackRules;
  keys?: DecryptionKeys;
  /** Called with the blob bytes processed so far, about every 4 MiB. */
  onBytes?: (bytes: number) => void;
  /** Unpack on this worker's thread instead of this one (see unpack/worker.ts). */
  worker?: UnpackWorker;
}

/** What applying one layer did. */
export interface ApplyLayerResult {
  entries: number;
  /** Uncompressed tar bytes. */
  tarBytes: number;
  encrypted: boolean;
  warnings: string[];
}

/** Returns whether the descriptor is an encrypted layer (by media type). */
export function isEncryptedLayer(d: Descriptor): boolean {
  return layerKind(d.mediaType)?.encrypted === true;
}

/**
 * Streams one layer into `root`. Throws a coded error (ERR_OCI_DIGEST_MISMATCH, ERR_OCI_HMAC,
 * ERR_OCI_DECOMPRESS, ERR_OCI_TAR, ERR_OCI_UNPACK_*) and leaves cleanup of `root` to the caller.
 */
export async function applyLayer(o: ApplyLayerOptions): Promise<ApplyLayerResult> {
  const kind = layerKind(o.descriptor.mediaType);
  if (kind === undefined) {
    o.blob.destroy();
    throw new OciError(
      "ERR_OCI_MEDIA_TYPE",
      `unhandled layer media type '${o.descriptor.mediaType.slice(0, 100)}'`,
    );
  }
  let decryptor: LayerDecryptor | undefined;
  if (kind.encrypted) {
    try {
      const pub = parsePublicOptions(o.descriptor.annotations?.[ANNOTATION_PUBOPTS]);
      const priv = await unwrapLayerKey(o.descriptor.annotations, o.keys ?? {});
      decryptor = new LayerDecryptor(priv, pub);
    } catch (err) {
      o.blob.destroy();
      throw err;
    }
  }
  const blobDigest = createDigestVerifier(o.descriptor.digest);
  const diff = parseDigest(o.diffId);
  const expectedSize = o.descriptor.size;
  let blobBytes = 0;
  let tarBytes = 0;
  const maxTar = o.rules.maxLayerBytes;
  // The blob's chunks (as the connection delivered them, 64 KiB or less) are joined into
  // pieces of BATCH_BYTES before they are hashed, decrypted and inflated: each write to the
  // decompressor is a round trip to libuv's pool and back, and on this 2-core VM each such
  // hand-off costs far more than the copy (see docs/performance.md, Pull).
  let parts: Buffer[] = [];
  let partBytes = 0;
  const takeBatch = (): Buffer => {
    const b = parts.length === 1 ? parts[0]! : Buffer.concat(parts, partBytes);
    parts = [];
    partBytes = 0;
    blobDigest.update(b);
    return b;
  };

  const verify = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _e, cb) {
      const before = blobBytes;
      blobBytes += chunk.length;
      if (
        o.onBytes !== undefined &&
        Math.floor(blobBytes / 2 ** 22) !== Math.floor(before / 2 ** 22)
      )
        o.onBytes(blobBytes);
      if (blobBytes > expectedSize) {
        cb(
          new OciError(
            "ERR_OCI_TOO_LARGE",
            `layer ${o.descriptor.digest} is larger than its descriptor size ${expectedSize}`,
          ),
        );
        return;
      }
      parts.push(chunk);
      partBytes += chunk.length;
      if (partBytes < BATCH_BYTES) {
        cb();
        return;
      }
      const b = takeBatch();
      cb(null, decryptor ? decryptor.update(b) : b);
    },
    flush(cb) {
      try {
        if (blobBytes !== expectedSize) {
          throw new OciError(
            "ERR_OCI_DIGEST_MISMATCH",
            `layer ${o.descriptor.digest} is ${blobBytes} bytes, descriptor says ${expectedSize}`,
          );
        }
        const rest = partBytes > 0 ? takeBatch() : undefined;
        blobDigest.verify(`layer ${o.descriptor.digest}`);
        const out = rest !== undefined && decryptor ? decryptor.update(rest) : rest;
        // The MAC covers every byte: checked before the last piece goes on.
        decryptor?.final();
        cb(null, out);
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  // The sink hashes the tar bytes as it unpacks them (on the worker's thread when there is
  // one); the diff_id is compared once the whole layer went through.
  const sink: LayerSink = o.worker
    ? o.worker.sink(o.root, o.rules, diff.algorithm)
    : createInProcessSink(o.root, o.rules, diff.algorithm);
  let unpacked: UnpackSummary | undefined;
  let aborted: Promise<void> | undefined;
  const tar = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _e, cb) {
      tarBytes += chunk.length;
      if (tarBytes > maxTar) {
        cb(new OciError("ERR_OCI_UNPACK_LIMIT", `layer expands beyond ${maxTar} bytes`));
        return;
      }
      try {
        const p = sink.write(chunk);
        if (p === undefined) cb();
        else p.then(() => cb(), cb);
      } catch (err) {
        cb(err as Error);
      }
    },
    final(cb) {
      sink.end().then((r) => {
        const got = `${diff.algorithm}:${r.digest}`;
        if (got !== o.diffId) {
          cb(
            new OciError(
              "ERR_OCI_DIGEST_MISMATCH",
              `uncompressed layer ${o.descriptor.digest} has diff_id ${got}, config says ${o.diffId}`,
            ),
          );
          return;
        }
        unpacked = r;
        cb();
      }, cb);
    },
    destroy(err, cb) {
      if (unpacked === undefined) aborted ??= sink.abort();
      cb(err);
    },
  });
  const stages: NodeJS.ReadWriteStream[] = [verify, ...createDecompressStages(kind.compression)];
  try {
    await pipeline([o.blob, ...stages, tar] as unknown as [Readable, ...NodeJS.WritableStream[]]);
  } catch (err) {
    // Nothing may still be writing under the root when the caller removes it.
    await (aborted ?? sink.abort());
    throw classify(err, o.descriptor.digest);
  }
  if (unpacked === undefined) throw new OciError("ERR_OCI_UNPACK", "layer stream ended early");
  return {
    entries: unpacked.entries,
    tarBytes,
    encrypted: kind.encrypted,
    warnings: unpacked.warnings,
  };
}

function classify(err: unknown, digest: string): OciError {
  if (err instanceof OciError) return err;
  const e = err as NodeJS.ErrnoException;
  if (isZlibErrorCode(e?.code)) {
    return new OciError(
      "ERR_OCI_DECOMPRESS",
      `layer ${digest}: corrupt compressed data (${e.code})`,
      { cause: err },
    );
  }
  if (e?.code === "ERR_STREAM_PREMATURE_CLOSE" || e?.code === "ECONNRESET") {
    return new OciError("ERR_OCI_HTTP", `layer ${digest}: download interrupted`, { cause: err });
  }
  if (typeof e?.message === "string" && /tar|header|Unexpected end of data/i.test(e.message)) {
    return new OciError(
      "ERR_OCI_TAR",
      `layer ${digest}: malformed tar: ${e.message.slice(0, 200)}`,
      { cause: err },
    );
  }
  if (typeof e?.code === "string" && e.code.startsWith("E")) {
    return new OciError("ERR_OCI_UNPACK", `layer ${digest}: filesystem error ${e.code}`, {
      cause: err,
    });
  }
  return new OciError(
    "ERR_OCI_UNPACK",
    `layer ${digest}: ${String(e?.message ?? err).slice(0, 200)}`,
    { cause: err },
  );
}
