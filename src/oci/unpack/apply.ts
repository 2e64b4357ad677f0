/**
 * Applies one layer's tar entries to a root directory: confined paths, OCI whiteouts and opaque
 * directories, ownership, modes and times, with the configured rules for devices, setuid bits
 * and xattrs, and limits on entry counts and sizes. Filesystem calls are synchronous: on this
 * machine synchronous extraction measured 2× faster than the async API.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { OciError } from "../errors.js";
import { entryComponents, resolveParent } from "./confine.js";
import type { UnpackRules } from "./rules.js";
import type { BodySink } from "./tar-reader.js";

/** The tar header fields the applier reads (a subset of tar-stream's header). */
export interface TarEntryHeader {
  name: string;
  type: string | null;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: Date;
  linkname?: string | null;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string> | null;
}

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";
const OPEN_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function exists(p: string): ReturnType<typeof lstatSync> | undefined {
  // No exception for a missing path: most entries of a layer are new, and throwing is slow.
  return lstatSync(p, { throwIfNoEntry: false });
}

/** Applies entries of one layer to `root`; call {@link LayerApplier.finish} after the last. */
export class LayerApplier {
  readonly warnings: string[] = [];
  entries = 0;
  readonly #root: string;
  readonly #rules: UnpackRules;
  readonly #known = new Set<string>();
  readonly #touched = new Set<string>();
  readonly #dirTimes: [string, Date][] = [];
  /** Directories this layer created (empty when made), and paths this layer created: a path in a
   * fresh directory that this layer did not create cannot exist, so no lstat is needed. */
  readonly #freshDirs = new Set<string>();
  // Reading the umask without changing it (documentation-only deprecation, no warning).
  readonly #umask = process.umask();
  readonly #made = new Set<string>();
  /**
   * Directories whose owner this layer set from a directory entry to our own group and
   * without a setgid bit: a file created in one gets our ids whatever the mount's group rule.
   */
  readonly #plainDirs = new Set<string>();
  // Who owns a file we create (Linux: the fs ids, equal to the effective ids here).
  readonly #euid = process.geteuid?.() ?? -1;
  readonly #egid = process.getegid?.() ?? -1;

  constructor(root: string, rules: UnpackRules) {
    this.#root = root;
    this.#rules = rules;
  }

  /** Applies one entry; `data` yields the file contents (drained for other types). */
  async entry(h: TarEntryHeader, data: AsyncIterable<Uint8Array>): Promise<void> {
    const sink = this.begin(h);
    try {
      for await (const chunk of data) sink?.write(chunk);
    } catch (err) {
      sink?.abort();
      throw err;
    }
    sink?.end();
  }

  /**
   * Applies one entry's metadata synchronously; for a regular file returns the sink its bytes
   * go to (the file is complete after `end()`), otherwise null.
   */
  begin(h: TarEntryHeader): BodySink | null {
    if (++this.entries > this.#rules.maxEntries) {
      throw new OciError(
        "ERR_OCI_UNPACK_LIMIT",
        `layer has more than ${this.#rules.maxEntries} entries`,
      );
    }
    const type = h.type;
    if (type === "pax-global-header") return null;
    const parts = entryComponents(h.name, this.#rules.maxPathLength);
    if (
      ![
        "file",
        "contiguous-file",
        "directory",
        "symlink",
        "link",
        "character-device",
        "block-device",
        "fifo",
      ].includes(type ?? "")
    ) {
      throw new OciError(
        "ERR_OCI_UNPACK_FORBIDDEN",
        `entry '${h.name.slice(0, 200)}' has unsupported tar type ${type ?? "unknown"} (sparse and vendor types are refused)`,
      );
    }
    this.#checkMetadata(h);
    if (parts.length === 0) {
      // The layer root entry: its metadata applies to the root itself.
      this.#setOwnerMode(this.#root, h, false);
      this.#notePlain("", h);
      if (h.mtime) this.#dirTimes.push([this.#root, h.mtime]);
      return null;
    }
    const base = parts[parts.length - 1]!;
    const parent = resolveParent(this.#root, parts.slice(0, -1), this.#known);
    this.#mkdirs(parent);
    const parentRel = parent.join("/");
    const parentAbs = parentRel === "" ? this.#root : `${this.#root}/${parentRel}`;
    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base === OPAQUE) this.#opaque(parentRel);
      else {
        const victim = base.slice(WHITEOUT_PREFIX.length);
        if (victim === "" || victim === "." || victim === "..")
          throw new OciError("ERR_OCI_UNPACK_ESCAPE", `bad whiteout '${h.name.slice(0, 200)}'`);
        rmSync(`${parentAbs}/${victim}`, { recursive: true, force: true });
        this.#known.clear();
        this.#freshDirs.clear();
        this.#plainDirs.clear();
      }
      return null;
    }
    const rel = parentRel === "" ? base : `${parentRel}/${base}`;
    const abs = `${this.#root}/${rel}`;
    this.#touch(rel);
    const old = this.#freshDirs.has(parentRel) && !this.#made.has(rel) ? undefined : exists(abs);
    this.#made.add(rel);
    if (type === "directory") {
      if (old !== undefined && !old.isDirectory()) {
        rmSync(abs, { force: true });
      }
      if (old === undefined || !old.isDirectory()) {
        mkdirSync(abs, { mode: 0o700 });
        this.#freshDirs.add(rel);
      }
      this.#known.add(rel);
      this.#setOwnerMode(abs, h, false);
      this.#notePlain(rel, h);
      if (h.mtime) this.#dirTimes.push([abs, h.mtime]);
      return null;
    }
    if (old !== undefined) {
      if (old.isDirectory()) {
        rmSync(abs, { recursive: true, force: true });
        this.#known.clear();
        this.#freshDirs.clear();
        this.#plainDirs.clear();
      } else unlinkSync(abs);
    }
    switch (type) {
      case "file":
      case "contiguous-file":
        return this.#openFile(abs, h, this.#ownedAlready(parentRel, h));
      case "symlink": {
        const target = h.linkname ?? "";
        if (target === "" || target.includes("\0"))
          throw new OciError(
            "ERR_OCI_UNPACK",
            `symlink '${h.name.slice(0, 200)}' has an empty target`,
          );
        symlinkSync(target, abs);
        if (this.#rules.preserveOwnership) lchownSync(abs, h.uid ?? 0, h.gid ?? 0);
        if (h.mtime) lutimesSync(abs, h.mtime, h.mtime);
        return null;
      }
      case "link": {
        const lparts = entryComponents(h.linkname ?? "", this.#rules.maxPathLength);
        if (lparts.length === 0)
          throw new OciError(
            "ERR_OCI_UNPACK_ESCAPE",
            `hard link '${h.name.slice(0, 200)}' targets the root`,
          );
        const lparent = resolveParent(this.#root, lparts.slice(0, -1), this.#known);
        const src = [...lparent, lparts[lparts.length - 1]!].join("/");
        const st = exists(`${this.#root}/${src}`);
        if (st === undefined)
          throw new OciError(
            "ERR_OCI_UNPACK",
            `hard link '${h.name.slice(0, 200)}' targets a missing entry`,
          );
        if (st.isDirectory())
          throw new OciError(
            "ERR_OCI_UNPACK_FORBIDDEN",
            `hard link '${h.name.slice(0, 200)}' targets a directory`,
          );
        linkSync(`${this.#root}/${src}`, abs);
        return null;
      }
      case "fifo":
        this.#mknod(abs, h, "p");
        return null;
      default: {
        // character-device / block-device
        if (this.#rules.devices === "reject") {
          throw new OciError(
            "ERR_OCI_UNPACK_FORBIDDEN",
            `device node '${h.name.slice(0, 200)}' is refused by the unpack rules`,
          );
        }
        if (this.#rules.devices === "skip") {
          this.warnings.push(`skipped device node ${h.name.slice(0, 200)}`);
          return null;
        }
        this.#mknod(abs, h, type === "block-device" ? "b" : "c");
        return null;
      }
    }
  }

  /** Applies deferred directory times (deepest first). */
  finish(): void {
    for (let i = this.#dirTimes.length - 1; i >= 0; i--) {
      const [p, t] = this.#dirTimes[i]!;
      // A later entry may have replaced the directory, or one of its parents, with a symlink:
      // only touch it if every component is still a real directory inside the root.
      if (!this.#isRealDir(p)) continue;
      lutimesSync(p, t, t);
    }
  }

  #isRealDir(abs: string): boolean {
    if (abs === this.#root) return true;
    const rel = abs.slice(this.#root.length + 1).split("/");
    let cur = this.#root;
    for (const c of rel) {
      cur = `${cur}/${c}`;
      const st = lstatSync(cur, { throwIfNoEntry: false });
      if (st === undefined || !st.isDirectory()) return false;
    }
    return true;
  }

  #checkMetadata(h: TarEntryHeader): void {
    const mode = h.mode ?? 0;
    if ((mode & 0o6000) !== 0 && this.#rules.setuid === "reject") {
      throw new OciError(
        "ERR_OCI_UNPACK_FORBIDDEN",
        `entry '${h.name.slice(0, 200)}' has a setuid/setgid bit, refused by the unpack rules`,
      );
    }
    if ((h.size ?? 0) > this.#rules.maxFileBytes) {
      throw new OciError(
        "ERR_OCI_UNPACK_LIMIT",
        `entry '${h.name.slice(0, 200)}' is ${h.size} bytes (limit ${this.#rules.maxFileBytes})`,
      );
    }
    if (h.pax) {
      for (const k of Object.keys(h.pax)) {
        if (k.startsWith("GNU.sparse."))
          throw new OciError(
            "ERR_OCI_UNPACK_FORBIDDEN",
            `sparse entry '${h.name.slice(0, 200)}' is refused`,
          );
        if (k.startsWith("SCHILY.xattr.") || k.startsWith("LIBARCHIVE.xattr.")) {
          if (this.#rules.xattrs === "reject")
            throw new OciError(
              "ERR_OCI_UNPACK_FORBIDDEN",
              `entry '${h.name.slice(0, 200)}' carries xattr ${k.slice(0, 80)}`,
            );
          this.warnings.push(
            `xattr ${k.split(".").slice(2).join(".").slice(0, 80)} on ${h.name.slice(0, 200)} not applied`,
          );
        }
      }
    }
  }

  #mode(h: TarEntryHeader): number {
    let mode = (h.mode ?? 0o644) & 0o7777;
    if (this.#rules.setuid === "strip") mode &= ~0o6000;
    return mode;
  }

  #setOwnerMode(abs: string, h: TarEntryHeader, _symlink: boolean): void {
    if (this.#rules.preserveOwnership) chownSync(abs, h.uid ?? 0, h.gid ?? 0);
    chmodSync(abs, this.#mode(h));
  }

  /**
   * Whether a file created now in `parentRel` already has the entry's owner, so the fchown
   * can be skipped (one syscall of five per file): the entry's ids are ours and the parent is
   * a plain directory of our group (see `#plainDirs`).
   */
  #ownedAlready(parentRel: string, h: TarEntryHeader): boolean {
    return (
      (h.uid ?? 0) === this.#euid && (h.gid ?? 0) === this.#egid && this.#plainDirs.has(parentRel)
    );
  }

  #notePlain(rel: string, h: TarEntryHeader): void {
    if (
      this.#rules.preserveOwnership &&
      (h.gid ?? 0) === this.#egid &&
      (this.#mode(h) & 0o2000) === 0
    )
      this.#plainDirs.add(rel);
    else this.#plainDirs.delete(rel);
  }

  #openFile(abs: string, h: TarEntryHeader, owned: boolean): BodySink {
    const mode = this.#mode(h);
    // Created with its final permission bits; fchmod only when the umask or chown would spoil
    // them (chown clears setuid/setgid), which saves a syscall for almost every file.
    const fd = openSync(abs, OPEN_NEW, mode & 0o777);
    let written = 0;
    let open = true;
    const close = () => {
      if (open) {
        open = false;
        closeSync(fd);
      }
    };
    return {
      write: (chunk) => {
        written += chunk.byteLength;
        if (written > this.#rules.maxFileBytes) {
          close();
          throw new OciError(
            "ERR_OCI_UNPACK_LIMIT",
            `entry '${h.name.slice(0, 200)}' exceeds ${this.#rules.maxFileBytes} bytes`,
          );
        }
        let off = 0;
        while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
      },
      end: () => {
        try {
          if (this.#rules.preserveOwnership && !owned) fchownSync(fd, h.uid ?? 0, h.gid ?? 0);
          if ((mode & 0o7000) !== 0 || (mode & this.#umask) !== 0) fchmodSync(fd, mode);
          if (h.mtime) futimesSync(fd, h.mtime, h.mtime);
        } finally {
          close();
        }
      },
      abort: close,
    };
  }

  #mknod(abs: string, h: TarEntryHeader, kind: "p" | "b" | "c"): void {
    const args =
      kind === "p" ? [abs, "p"] : [abs, kind, String(h.devmajor ?? 0), String(h.devminor ?? 0)];
    const r = spawnSync("mknod", ["-m", (this.#mode(h) & 0o777).toString(8), ...args], {
      stdio: "ignore",
    });
    if (r.status !== 0)
      throw new OciError(
        "ERR_OCI_UNPACK",
        `could not create ${kind === "p" ? "fifo" : "device"} '${h.name.slice(0, 200)}'`,
      );
    if (this.#rules.preserveOwnership) lchownSync(abs, h.uid ?? 0, h.gid ?? 0);
    chmodSync(abs, this.#mode(h));
    if (h.mtime) utimesSync(abs, h.mtime, h.mtime);
  }

  #mkdirs(parts: readonly string[]): void {
    let rel = "";
    for (const p of parts) {
      rel = rel === "" ? p : `${rel}/${p}`;
      this.#touched.add(rel);
      if (this.#known.has(rel)) continue;
      const st = exists(`${this.#root}/${rel}`);
      if (st === undefined) {
        mkdirSync(`${this.#root}/${rel}`, { mode: 0o755 });
        this.#freshDirs.add(rel);
        this.#made.add(rel);
      } else if (!st.isDirectory())
        throw new OciError("ERR_OCI_UNPACK", `'${rel.slice(0, 200)}' is not a directory`);
      this.#known.add(rel);
    }
  }

  #touch(rel: string): void {
    this.#touched.add(rel);
  }

  /** Opaque whiteout: hide everything under `dirRel` that earlier layers put there. */
  #opaque(dirRel: string): void {
    const walk = (rel: string) => {
      const abs = rel === "" ? this.#root : `${this.#root}/${rel}`;
      let names: string[];
      try {
        names = readdirSync(abs);
      } catch {
        return;
      }
      for (const n of names) {
        const child = rel === "" ? n : `${rel}/${n}`;
        if (!this.#touched.has(child)) {
          rmSync(`${abs}/${n}`, { recursive: true, force: true });
        } else if (exists(`${abs}/${n}`)?.isDirectory()) walk(child);
      }
    };
    walk(dirRel);
    this.#known.clear();
    this.#freshDirs.clear();
    this.#plainDirs.clear();
  }
}
