/**
 * A content-addressed blob store shared between pulls and pods: verified layer blobs (as stored
 * in the registry, so encrypted layers stay encrypted at rest) under `<dir>/blobs/<alg>/<hex>`.
 * A blob enters the store only after the pipeline verified its digest; a stored blob is verified
 * again on every use, and a damaged one is evicted. A size bound (`maxBytes`) evicts the least
 * recently used blobs, because in a TEE the store lives in encrypted guest memory.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  createReadStream,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
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

/** Store options. */
export interface BlobStoreOptions {
  /** Upper bound on stored bytes; least recently used blobs go first (default 2 GiB). */
  maxBytes?: number;
}

/** Creates a store rooted at `dir`. */
export function createBlobStore(dir: string, opts: BlobStoreOptions = {}): BlobStore {
  const maxBytes = opts.maxBytes ?? 2 * 1024 ** 3;
  const pathOf = (digest: string) => {
    const d = parseDigest(digest);
    return join(dir, "blobs", d.algorithm, d.hex);
  };
  // Keeps the store under maxBytes, dropping the least recently used blobs (mtime is touched
  // on every use). `keep` is the blob just added, which stays even if it alone is too large.
  const prune = (keep: string) => {
    const all: { path: string; size: number; used: number }[] = [];
    for (const alg of ["sha256", "sha512"]) {
      const d = join(dir, "blobs", alg);
      let names: string[];
      try {
        names = readdirSync(d);
      } catch {
        continue;
      }
      for (const n of names) {
        if (n.includes(".tmp-")) continue;
        const st = statSync(join(d, n), { throwIfNoEntry: false });
        if (st?.isFile()) all.push({ path: join(d, n), size: st.size, used: st.mtimeMs });
      }
    }
    let total = all.reduce((a, b) => a + b.size, 0);
    all.sort((a, b) => a.used - b.used);
    for (const b of all) {
      if (total <= maxBytes) break;
      if (b.path === keep) continue;
      rmSync(b.path, { force: true });
      total -= b.size;
    }
  };
  return {
    open(digest, size) {
      const p = pathOf(digest);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st === undefined || st.size !== size) return undefined;
      const now = new Date();
      utimesSync(p, now, now);
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
          prune(final);
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
      prune(final);
    },
    evict(digest) {
      rmSync(pathOf(digest), { force: true });
    },
  };
}
