/**
 * Fetching a layer ahead into a spool file while an earlier layer unpacks. Writes are
 * synchronous, one per network read: the async file stream cost a thread-pool round trip per
 * 64 KiB chunk, and on a pull that keeps both cores busy those hand-offs cost the main thread
 * more than the copies themselves.
 */
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { Readable } from "node:stream";
import { OciError } from "./errors.js";

/** Writes `blob` to a new file (mode 0600), refusing more than `maxBytes`. */
export function spoolToFile(blob: Readable, file: string, maxBytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let fd: number;
    try {
      fd = openSync(file, "wx", 0o600);
    } catch (err) {
      blob.destroy();
      reject(err);
      return;
    }
    let n = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      blob.destroy();
      closeSync(fd);
      rmSync(file, { force: true });
      reject(err);
    };
    blob.on("data", (chunk: Buffer) => {
      if (settled) return;
      n += chunk.length;
      if (n > maxBytes) {
        fail(
          new OciError("ERR_OCI_TOO_LARGE", `blob is larger than its descriptor size ${maxBytes}`),
        );
        return;
      }
      try {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      } catch (err) {
        fail(err as Error);
      }
    });
    blob.once("error", (err) => fail(err));
    blob.once("end", () => {
      if (settled) return;
      settled = true;
      closeSync(fd);
      resolve();
    });
  });
}

/**
 * Reads `blob` ahead into memory: the returned stream keeps every chunk as the connection
 * delivered it (no copy, no file write and read-back) until it is read, and refuses more than
 * `maxBytes`. A download error is kept for whoever reads the stream (a pipeline reports it).
 * Destroying the stream closes the download.
 */
export function readAhead(blob: Readable, maxBytes: number): Readable {
  let n = 0;
  const out = new Readable({
    // Room for the whole blob: the download never waits for the reader.
    highWaterMark: Math.max(1, maxBytes),
    read() {
      blob.resume();
    },
    destroy(err, cb) {
      blob.destroy();
      cb(err);
    },
  });
  out.on("error", () => {});
  blob.on("data", (chunk: Buffer) => {
    n += chunk.length;
    if (n > maxBytes) {
      out.destroy(
        new OciError("ERR_OCI_TOO_LARGE", `blob is larger than its descriptor size ${maxBytes}`),
      );
      return;
    }
    if (!out.push(chunk)) blob.pause();
  });
  blob.once("end", () => out.push(null));
  blob.once("error", (err) => out.destroy(err));
  return out;
}
