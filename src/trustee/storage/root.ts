/**
 * What the on-disk stores do when they open their root: make it private, and remove the
 * temporary files a crash left behind (some hold part of a secret).
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { StorageError } from "./types.js";

/**
 * Creates `dir` with mode 0700, or makes an existing one 0700 when group or others could
 * read it, logging a warning that names the old mode.
 */
export async function prepareStorageRoot(dir: string, log?: (line: string) => void): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const mode = (await fs.stat(dir)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      await fs.chmod(dir, 0o700);
      log?.(
        `storage: WARNING: storage directory ${dir} had mode ${mode.toString(8).padStart(4, "0")} (readable by others); changed to 0700`,
      );
    }
  } catch (err) {
    throw new StorageError("ERR_STORAGE_CONFIG", `cannot create storage directory ${dir}`, {
      cause: err,
    });
  }
}

/** True when `pid` names a live process on this host. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Temporary files older than this are removed at start whoever wrote them. */
const STALE_TEMP_MS = 3600_000;

/**
 * Removes temporary files in `dir` (`.tmp-<pid>-<random>`, or the older `.tmp-<random>`). A
 * file of another live process on this host (a worker sharing the directory) is kept unless
 * it is over an hour old. A `dir` that is not a directory is ignored.
 */
export async function removeStaleTemps(dir: string, now = Date.now()): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(".tmp-")) continue;
    const m = /^\.tmp-(\d+)-/.exec(name);
    const p = join(dir, name);
    if (m !== null && Number(m[1]) !== process.pid && alive(Number(m[1]))) {
      const st = await fs.stat(p).catch(() => undefined);
      if (st === undefined || now - st.mtimeMs < STALE_TEMP_MS) continue;
    }
    await fs.rm(p, { force: true });
  }
}
