/**
 * Path confinement for unpacking: resolves an entry path inside the root the way
 * securejoin/openat2(RESOLVE_IN_ROOT) does (absolute symlinks are re-rooted), and refuses any
 * `..` that would climb above the root, so no entry can touch anything outside it.
 */
import { lstatSync, readlinkSync } from "node:fs";
import { OciError } from "../errors.js";

const MAX_SYMLINKS = 40;

/** Splits a tar entry name into clean components; refuses absolute paths, `..` and NUL. */
export function entryComponents(name: string, maxLength: number): string[] {
  if (name.length > maxLength)
    throw new OciError("ERR_OCI_UNPACK_LIMIT", `entry path longer than ${maxLength} characters`);
  if (name.includes("\0")) throw new OciError("ERR_OCI_UNPACK_ESCAPE", "entry path contains NUL");
  if (name.startsWith("/"))
    throw new OciError(
      "ERR_OCI_UNPACK_ESCAPE",
      `absolute entry path '${name.slice(0, 200)}' is refused`,
    );
  const parts: string[] = [];
  for (const p of name.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..")
      throw new OciError(
        "ERR_OCI_UNPACK_ESCAPE",
        `entry path '${name.slice(0, 200)}' contains '..'`,
      );
    parts.push(p);
  }
  return parts;
}

/**
 * Resolves the parent directory components of an entry inside `root`, following symlinks
 * within the root. Returns the resolved relative components (no symlinks among them).
 * `known` caches relative directory paths already verified as real directories.
 */
export function resolveParent(
  root: string,
  parts: readonly string[],
  known: Set<string>,
): string[] {
  const out: string[] = [];
  const queue = [...parts];
  let hops = 0;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === "." || c === "") continue;
    if (c === "..") {
      if (out.length === 0)
        throw new OciError(
          "ERR_OCI_UNPACK_ESCAPE",
          `a symlink in '${parts.join("/").slice(0, 200)}' points outside the root`,
        );
      out.pop();
      continue;
    }
    out.push(c);
    const rel = out.join("/");
    if (known.has(rel)) continue;
    const st = lstatSync(`${root}/${rel}`, { throwIfNoEntry: false });
    if (st === undefined || st.isDirectory()) {
      if (st !== undefined) known.add(rel);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINKS)
        throw new OciError("ERR_OCI_UNPACK_ESCAPE", "too many levels of symbolic links");
      const target = readlinkSync(`${root}/${rel}`);
      out.pop();
      if (target.startsWith("/")) out.length = 0;
      queue.unshift(...target.split("/"));
      continue;
    }
    throw new OciError(
      "ERR_OCI_UNPACK",
      `'${rel.slice(0, 200)}' is not a directory but an entry is placed inside it`,
    );
  }
  return out;
}
