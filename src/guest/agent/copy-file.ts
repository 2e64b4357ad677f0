import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import { dirname, isAbsolute, join, posix, relative } from "node:path";
import type { CopyFileRequest } from "../../protocol/agent/index.js";
import { copyFileType } from "../../protocol/agent/index.js";
import { AgentError } from "./errors.js";

/** Largest file the host may copy into the guest (ConfigMaps and Secrets are at most 1 MiB). */
export const MAX_COPY_FILE = 16 << 20;

const fail = (msg: string): never => {
  throw new AgentError("ERR_AGENT_COPY_FILE", msg);
};

/**
 * Checks that `path` is absolute, canonical (no `.`/`..`/empty segments) and strictly below
 * `base`, and returns the segments below `base`.
 */
export function confinedSegments(base: string, path: string): string[] {
  if (!isAbsolute(path) || posix.normalize(path) !== path || path.endsWith("/")) {
    fail(`CopyFile path ${JSON.stringify(path)} is not absolute and canonical`);
  }
  if (path.split("/").some((s) => s === ".." || s === "."))
    fail("CopyFile path has . or .. segments");
  const rel = relative(base, path);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
    fail(`CopyFile path ${JSON.stringify(path)} is outside ${base}`);
  }
  return rel.split("/");
}

/** lstat that answers undefined for a missing path. */
function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Walks from `base` down to the parent of the target, creating missing folders with `dirMode`,
 * and refuses any existing component that is not a real folder: a symlink planted by an earlier
 * CopyFile cannot redirect a later write out of the shared folder. (Kata 4.0 confines with
 * openat2/pathrs; Node has no openat2, and all writes into this tree come through this one
 * serialised function, so a component check before each write closes the same hole.)
 */
function ensureParents(base: string, segments: string[], dirMode: number): string {
  let cur = base;
  mkdirSync(base, { recursive: true, mode: 0o750 });
  for (const seg of segments.slice(0, -1)) {
    cur = join(cur, seg);
    const st = lstatOrUndefined(cur);
    if (st === undefined) mkdirSync(cur, { mode: dirMode & 0o7777 || 0o750 });
    else if (st.isSymbolicLink())
      fail(`CopyFile path component ${relative(base, cur)} is a symlink`);
    else if (!st.isDirectory())
      fail(`CopyFile path component ${relative(base, cur)} is not a folder`);
  }
  return join(cur, segments[segments.length - 1]!);
}

/** Partial writes in progress: destination → temporary file. */
export type CopyFileState = Map<string, { tmp: string; written: number }>;

/**
 * Writes one CopyFile chunk confined to `base` (upstream: /run/kata-containers/shared/containers).
 * Regular files arrive in chunks at `offset`; they are written to a temporary file (mode 0600
 * until complete) and renamed into place once `file_size` bytes arrived, so a reader never sees a
 * partial file. Folders are created; symlinks only with a relative target that stays inside.
 */
export function copyFile(base: string, req: CopyFileRequest, state: CopyFileState): void {
  const segments = confinedSegments(base, req.path);
  const type = copyFileType(req.fileMode);
  const size = Number(req.fileSize);
  const offset = Number(req.offset);
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_COPY_FILE)
    fail(`CopyFile size ${size} is out of range`);
  const target = ensureParents(base, segments, req.dirMode);
  const existing = lstatOrUndefined(target);
  const mode = req.fileMode & 0o777;
  switch (type) {
    case "Directory":
      if (existing === undefined) mkdirSync(target, { mode });
      else if (!existing.isDirectory())
        fail("CopyFile directory target exists and is not a folder");
      return;
    case "Symlink": {
      const link = Buffer.from(req.data).toString("utf8");
      if (segments.length < 2) fail("CopyFile symlinks are only allowed below the top level");
      if (link === "" || isAbsolute(link) || link.split("/").includes("..")) {
        fail("CopyFile symlink target must be relative without .. segments");
      }
      if (existing !== undefined) {
        if (existing.isDirectory()) fail("CopyFile symlink target path is a folder");
        rmSync(target);
      }
      symlinkSync(link, target);
      return;
    }
    case "Regular":
      break;
    default:
      fail("CopyFile supports regular files, folders and symlinks only");
  }
  if (existing?.isDirectory()) fail("CopyFile target is a folder");
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + req.data.length > size) {
    fail("CopyFile chunk lies outside the declared file size");
  }
  let entry = state.get(target);
  if (offset === 0) {
    if (entry) rmSync(entry.tmp, { force: true });
    entry = { tmp: join(dirname(target), `.tmp-${randomBytes(8).toString("hex")}`), written: 0 };
    state.set(target, entry);
    const fd = openSync(
      entry.tmp,
      constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
      0o600,
    );
    closeSync(fd);
  } else if (!entry || entry.written !== offset) {
    fail("CopyFile chunk does not continue the file being written");
  }
  const fd = openSync(entry!.tmp, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    if (req.data.length > 0) writeSync(fd, req.data, 0, req.data.length, offset);
    entry!.written = offset + req.data.length;
    if (entry!.written === size) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (entry!.written === size) {
    state.delete(target);
    chownSync(entry!.tmp, req.uid, req.gid);
    chmodSync(entry!.tmp, mode);
    renameSync(entry!.tmp, target);
  }
}
