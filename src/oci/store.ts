/**
 * A content-addressed blob store shared between pulls and pods: verified layer blobs (as stored
 * in the registry, so encrypted layers stay encrypted at rest) under `<dir>/blobs/<alg>/<hex>`.
 * A blob enters the store only after the pipeline verified its digest; a stored blob is verified
 * again on every use, and a damaged one is evicted.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  createReadStream,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { type Readable, Transform } from "node:stream";
import { parseDigest } from "./digest.js";

/** The store's interface as the pull uses it. */
export interface BlobStore {
  /** Opens a stored blob of the expected size, or undefined. */
  open(digest: string, size: number): Readable | undefined;
  /** A pass-through that copies the blob to a temporary file while it streams. */
  capture(digest: string): { through: Transform; commit(): void; discard(): void };
  evict(digest: string): void;
  /** Moves an already verified blob file into the store (same filesystem: a rename). */
  adopt(file: string, digest: string): void;
}

/** Creates a store rooted at `dir`. */
export function createBlobStore(dir: string): BlobStore {
  const pathOf = (digest: string) => {
    const d = parseDigest(digest);
    return join(dir, "blobs", d.algorithm, d.hex);
  };
  return {
    open(digest, size) {
      const p = pathOf(digest);
      try {
        if (statSync(p).size !== size) return undefined;
      } catch {
        return undefined;
      }
      return createReadStream(p, { highWaterMark: 1 << 20 });
    },
    capture(digest) {
      const final = pathOf(digest);
      mkdirSync(join(final, ".."), { recursive: true, mode: 0o700 });
      const tmp = `${final}.tmp-${randomBytes(4).toString("hex")}`;
      const fd = openSync(tmp, "wx", 0o600);
      let closed = false;
      const close = () => {
        if (!closed) {
          closed = true;
          closeSync(fd);
        }
      };
      const through = new Transform({
        highWaterMark: 1 << 20,
        transform(chunk: Buffer, _e, cb) {
          let off = 0;
          while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
          cb(null, chunk);
        },
      });
      return {
        through,
        commit() {
          close();
          renameSync(tmp, final);
        },
        discard() {
          close();
          rmSync(tmp, { force: true });
        },
      };
    },
    adopt(file, digest) {
      const final = pathOf(digest);
      mkdirSync(join(final, ".."), { recursive: true, mode: 0o700 });
      try {
        renameSync(file, final);
      } catch {
        // Another filesystem: copy through a temporary name, then rename.
        const tmp = `${final}.tmp-${randomBytes(4).toString("hex")}`;
        copyFileSync(file, tmp);
        renameSync(tmp, final);
        rmSync(file, { force: true });
      }
    },
    evict(digest) {
      rmSync(pathOf(digest), { force: true });
    },
  };
}
