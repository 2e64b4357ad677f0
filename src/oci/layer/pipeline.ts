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
  // The blob's chunks (as the connection delivered them, 64 KiB or less) are copied into
  // pieces of BATCH_BYTES before they are hashed, decrypted and inflated: each write to the
  // decompressor is a round trip to libuv's pool and back, and on this 2-core VM each such
  // hand-off costs far more than the copy (see docs/performance.md, Pull). The pieces are
  // reused (PiecePool) instead of allocated per MiB, so a pull's main thread hands V8 fewer
  // external bytes to account for (each 64 MiB of them starts a major collection).
  const stages = createDecompressStages(kind.compression);
  const pieces = new PiecePool(stages.at(-1) as ByteCounter | undefined);
  let cur: Buffer | undefined;
  let curLen = 0;
  const takeBatch = (): Buffer => {
    const b = curLen === BATCH_BYTES ? cur! : cur!.subarray(0, curLen);
    cur = undefined;
    curLen = 0;
    blobDigest.update(b);
    return b;
  };
  /** Copies `chunk` into pieces; returns the pieces it completed (usually none or one). */
  const fill = (chunk: Buffer): Buffer[] | undefined => {
    // A chunk that is a whole piece already (a spool file or the store read in 1 MiB) goes
    // on as it is.
    if (curLen === 0 && chunk.length === BATCH_BYTES) {
      blobDigest.update(chunk);
      return [chunk];
    }
    let done: Buffer[] | undefined;
    for (let off = 0; off < chunk.length; ) {
      cur ??= pieces.take();
      const n = Math.min(BATCH_BYTES - curLen, chunk.length - off);
      chunk.copy(cur, curLen, off, off + n);
      curLen += n;
      off += n;
      if (curLen === BATCH_BYTES) {
        done ??= [];
        done.push(takeBatch());
      }
    }
    return done;
  };
  /** A piece on its way downstream (decrypted, or recorded as in flight to the inflater). */
  const emit = (b: Buffer, owned: boolean): Buffer => {
    if (decryptor === undefined) return pieces.sent(b, owned);
    const out = decryptor.update(b);
    if (owned) pieces.release(b);
    return out;
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
      const done = fill(chunk);
      if (done === undefined) {
        cb();
        return;
      }
      const owned = done[0] !== chunk;
      for (let i = 0; i < done.length - 1; i++) this.push(emit(done[i]!, owned));
      cb(null, emit(done.at(-1)!, owned));
    },
    flush(cb) {
      try {
        if (blobBytes !== expectedSize) {
          throw new OciError(
            "ERR_OCI_DIGEST_MISMATCH",
            `layer ${o.descriptor.digest} is ${blobBytes} bytes, descriptor says ${expectedSize}`,
          );
        }
        const rest = curLen > 0 ? takeBatch() : undefined;
        blobDigest.verify(`layer ${o.descriptor.digest}`);
        const out = rest !== undefined ? emit(rest, true) : undefined;
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
  try {
    await pipeline([o.blob, verify, ...stages, tar] as unknown as [
      Readable,
      ...NodeJS.WritableStream[],
    ]);
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

/** The decompressor's count of input bytes it has consumed (node:zlib's `bytesWritten`). */
interface ByteCounter {
  bytesWritten: number;
}

/**
 * The 1 MiB pieces of one layer. A piece that was decrypted is free at once (the cipher copied
 * it out). A plain piece goes to the decompressor as it is, and is free again once the
 * decompressor has consumed every byte up to its end (node:zlib counts them in
 * `bytesWritten`, updated on this thread after each step on libuv's pool). Without a
 * decompressor, or when all pooled pieces are still in flight, a new piece is allocated.
 */
class PiecePool {
  readonly #free: Buffer[] = [];
  readonly #inFlight: { buf: Buffer; end: number }[] = [];
  #sent = 0;

  constructor(private readonly consumer: ByteCounter | undefined) {}

  take(): Buffer {
    if (this.consumer !== undefined) {
      const done = this.consumer.bytesWritten;
      while (this.#inFlight.length > 0 && this.#inFlight[0]!.end <= done) {
        this.#free.push(this.#inFlight.shift()!.buf);
      }
    }
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES);
  }

  /** Records a plain piece handed downstream (`owned`: one of ours); returns it. */
  sent(b: Buffer, owned: boolean): Buffer {
    this.#sent += b.length;
    // Only whole pieces are worth keeping; without a decompressor the tar stage may keep views.
    if (
      owned &&
      this.consumer !== undefined &&
      b.length === BATCH_BYTES &&
      this.#inFlight.length < 4
    ) {
      this.#inFlight.push({ buf: b, end: this.#sent });
    }
    return b;
  }

  /** After `decryptor.update(b)`: the piece may be refilled at once. */
  release(b: Buffer): void {
    if (b.length === BATCH_BYTES) this.#free.push(b);
  }
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
