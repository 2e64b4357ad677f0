/**
 * `coco install containerd` / `coco uninstall containerd`: puts coco-ts onto a node's containerd.
 *
 * Install writes, each atomically and each starting with {@link MARKER}:
 *  - the drop-in `<conf.d>/coco.toml` (runtime handlers, the `coco` proxy snapshotter);
 *  - one runtime config per handler, `<etc>/runtime-<handler>.toml` (the shim's ConfigPath);
 *  - launchers `<bin>/containerd-shim-coco-v2` and `<bin>/coco-snapshotter`, which exec this
 *    package's programs with the Node that ran the installer;
 *  - a systemd unit for the snapshotter when the node has `/etc/systemd/system` (not enabled);
 *  - a record `<etc>/installed.json` of all of it,
 * and, only when containerd's main config exists without an `imports` key, adds one line
 * importing the drop-in. Uninstall removes exactly what the record lists (a file no longer
 * carrying the marker is left alone and named) and that one line. Paths are absolute node
 * paths; `root` prefixes them all (tests, image builds), as DESTDIR does.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseToml } from "smol-toml";
import {
  containerdDropIn,
  DEFAULT_HANDLERS,
  type HandlerSpec,
  MARKER,
  runtimeConfigToml,
  SHIM_PROGRAM,
  SNAPSHOTTER_PROGRAM,
  snapshotterUnit,
} from "./containerd-config.js";
import { InstallError } from "./errors.js";

/** Where things go on the node (absolute paths, before `root`). */
export interface InstallOptions {
  /** Prefix for every path below (default "/"). */
  root?: string;
  /** containerd's main config (default /etc/containerd/config.toml). */
  containerdConfig?: string;
  /** The drop-in folder containerd imports (default /etc/containerd/conf.d). */
  confDir?: string;
  /** Where the launchers go (default /usr/local/bin). */
  binDir?: string;
  /** coco's own config folder: runtime configs and the install record (default /etc/coco). */
  etcDir?: string;
  /** The snapshotter's socket (default /run/coco-snapshotter/snapshotter.sock). */
  snapshotterSocket?: string;
  /** Handlers to install (default coco-dev → process sandbox, coco-qemu → QEMU VM). */
  handlers?: readonly HandlerSpec[];
  /** The package to run (default: the one holding this file). */
  packageRoot?: string;
  /** The Node binary the launchers exec (default: the one running now). */
  node?: string;
}

/** What was installed, as recorded in `<etc>/installed.json` (node paths, before `root`). */
export interface InstallRecord {
  version: 1;
  files: string[];
  /** The line added to the main config, if one was. */
  importLine?: { file: string; line: string };
}

const DEFAULTS = {
  containerdConfig: "/etc/containerd/config.toml",
  confDir: "/etc/containerd/conf.d",
  binDir: "/usr/local/bin",
  etcDir: "/etc/coco",
  snapshotterSocket: "/run/coco-snapshotter/snapshotter.sock",
};

const DROP_IN = "coco.toml";
const RECORD = "installed.json";
const UNIT = "/etc/systemd/system/coco-snapshotter.service";

interface Resolved {
  root: string;
  containerdConfig: string;
  confDir: string;
  binDir: string;
  etcDir: string;
  snapshotterSocket: string;
  handlers: readonly HandlerSpec[];
  at: (p: string) => string;
}

function resolveOptions(o: InstallOptions): Resolved {
  const root = resolve(o.root ?? "/");
  const r = {
    containerdConfig: o.containerdConfig ?? DEFAULTS.containerdConfig,
    confDir: o.confDir ?? DEFAULTS.confDir,
    binDir: o.binDir ?? DEFAULTS.binDir,
    etcDir: o.etcDir ?? DEFAULTS.etcDir,
    snapshotterSocket: o.snapshotterSocket ?? DEFAULTS.snapshotterSocket,
  };
  for (const [k, v] of Object.entries(r)) {
    if (!isAbsolute(v))
      throw new InstallError("ERR_INSTALL_OPTION", `${k} must be an absolute path, got ${v}`);
  }
  if (r.snapshotterSocket.length > 100)
    throw new InstallError(
      "ERR_INSTALL_OPTION",
      `snapshotter socket path is longer than a unix socket allows: ${r.snapshotterSocket}`,
    );
  const handlers = o.handlers ?? DEFAULT_HANDLERS;
  if (handlers.length === 0)
    throw new InstallError("ERR_INSTALL_OPTION", "no runtime handler to install");
  if (new Set(handlers.map((h) => h.name)).size !== handlers.length)
    throw new InstallError("ERR_INSTALL_OPTION", "a runtime handler name is given twice");
  return { ...r, root, handlers, at: (p: string) => join(root, p) };
}

/** The package root above this file (the folder holding package.json). */
function ownPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir)
      throw new InstallError("ERR_INSTALL_MISSING_PROGRAM", "cannot find coco-ts's package.json");
    dir = up;
  }
}

/** The built file of a `bin` entry of the package, or a coded error saying what is missing. */
export function packageProgram(packageRoot: string, name: string): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
    bin?: Record<string, string>;
  };
  const rel = pkg.bin?.[name];
  if (rel === undefined)
    throw new InstallError(
      "ERR_INSTALL_MISSING_PROGRAM",
      `this coco-ts build has no '${name}' program (no bin entry in ${join(packageRoot, "package.json")})`,
    );
  const file = resolve(packageRoot, rel);
  if (!existsSync(file))
    throw new InstallError(
      "ERR_INSTALL_MISSING_PROGRAM",
      `'${name}' is not built: ${file} is missing (run npm run build)`,
    );
  return file;
}

function atomicWrite(path: string, text: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.coco-tmp-${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** True when `path` is absent or a file this installer wrote (carries the marker). */
function ours(path: string): boolean {
  if (!existsSync(path)) return true;
  try {
    return readFileSync(path, "utf8").split("\n").slice(0, 2).includes(MARKER);
  } catch {
    return false;
  }
}

/** containerd's `filepath.Match` for one pattern: `*` and `?` within a path segment. */
function globMatch(pattern: string, path: string): boolean {
  const esc = pattern
    .replace(/[.+^${}()|\\]/g, "\\$&")
    .replace(/\*/g, "[^/]*")
    .replace(/\?/g, "[^/]");
  return new RegExp(`^${esc}$`).test(path);
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

function launcher(node: string, program: string): string {
  return `#!/bin/sh\n${MARKER}\nexec ${shQuote(node)} ${shQuote(program)} "$@"\n`;
}

/**
 * Decides whether containerd will read the drop-in: returns the line to add to the main config
 * (none needed, or the config has no `imports` at all), or throws naming what to change.
 */
function importLineFor(r: Resolved, dropIn: string): string | undefined {
  const main = r.at(r.containerdConfig);
  if (!existsSync(main)) {
    // containerd 2.x without a config file imports /etc/containerd/conf.d/*.toml by default.
    if (globMatch("/etc/containerd/conf.d/*.toml", dropIn)) return undefined;
    throw new InstallError(
      "ERR_INSTALL_CONTAINERD_CONFIG",
      `${r.containerdConfig} does not exist and containerd imports only /etc/containerd/conf.d/*.toml by default; install into that folder or create the config`,
    );
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(readFileSync(main, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new InstallError(
      "ERR_INSTALL_CONTAINERD_CONFIG",
      `${r.containerdConfig} is not valid TOML: ${(err as Error).message.split("\n")[0]}`,
      { cause: err },
    );
  }
  const version = doc.version ?? 1;
  if (typeof version !== "number" || version < 2)
    throw new InstallError(
      "ERR_INSTALL_CONTAINERD_CONFIG",
      `${r.containerdConfig} is config version ${String(version)}; containerd 2.x is needed (config version 2 or later)`,
    );
  const imports = doc.imports;
  if (imports === undefined) return `imports = [${JSON.stringify(dropIn)}]  ${MARKER}`;
  if (!Array.isArray(imports) || !imports.every((x) => typeof x === "string"))
    throw new InstallError(
      "ERR_INSTALL_CONTAINERD_CONFIG",
      `${r.containerdConfig}: imports must be a list of paths`,
    );
  const base = dirname(r.containerdConfig);
  if ((imports as string[]).some((p) => globMatch(isAbsolute(p) ? p : join(base, p), dropIn)))
    return undefined;
  throw new InstallError(
    "ERR_INSTALL_CONTAINERD_CONFIG",
    `${r.containerdConfig} has imports that do not include ${dropIn}; add ${JSON.stringify(dropIn)} (or ${JSON.stringify(`${r.confDir}/*.toml`)}) to its imports`,
  );
}

/** What {@link installContainerd} did, for the CLI to print. */
export interface InstallResult {
  record: InstallRecord;
  dropIn: string;
}

/** Installs coco-ts onto a node's containerd (see the module comment). */
export function installContainerd(o: InstallOptions = {}): InstallResult {
  const r = resolveOptions(o);
  const pkgRoot = o.packageRoot ?? ownPackageRoot();
  const shim = packageProgram(pkgRoot, SHIM_PROGRAM);
  const snapshotter = packageProgram(pkgRoot, SNAPSHOTTER_PROGRAM);
  const node = o.node ?? process.execPath;
  const dropIn = join(r.confDir, DROP_IN);
  const shimPath = join(r.binDir, SHIM_PROGRAM);
  const snapshotterPath = join(r.binDir, SNAPSHOTTER_PROGRAM);
  const runtimeConfigPath = (h: string) => join(r.etcDir, `runtime-${h}.toml`);

  const files: [string, string, number][] = [
    [shimPath, launcher(node, shim), 0o755],
    [snapshotterPath, launcher(node, snapshotter), 0o755],
    ...r.handlers.map((h): [string, string, number] => [
      runtimeConfigPath(h.name),
      runtimeConfigToml(h),
      0o644,
    ]),
    [
      dropIn,
      containerdDropIn({
        handlers: r.handlers,
        shimPath,
        snapshotterSocket: r.snapshotterSocket,
        runtimeConfigPath,
      }),
      0o644,
    ],
  ];
  if (existsSync(r.at("/etc/systemd/system")))
    files.push([UNIT, snapshotterUnit(snapshotterPath, r.snapshotterSocket), 0o644]);
  // Refuse before writing anything: a file in the way that someone else wrote stays theirs.
  for (const [p] of files) {
    if (!ours(r.at(p)))
      throw new InstallError(
        "ERR_INSTALL_CONFLICT",
        `${p} exists and was not written by coco install; move it away first`,
      );
  }
  const importLine = importLineFor(r, dropIn);
  const previous = readRecord(r);
  for (const [p, text, mode] of files) atomicWrite(r.at(p), text, mode);
  const record: InstallRecord = {
    version: 1,
    files: files.map(([p]) => p),
    ...(importLine !== undefined
      ? { importLine: { file: r.containerdConfig, line: importLine } }
      : {}),
  };
  if (importLine !== undefined) {
    const main = r.at(r.containerdConfig);
    atomicWrite(main, `${importLine}\n${readFileSync(main, "utf8")}`, statSync(main).mode & 0o7777);
  } else if (previous?.importLine !== undefined) record.importLine = previous.importLine;
  // A re-install with fewer handlers: drop the runtime configs no longer installed.
  for (const p of previous?.files ?? []) {
    if (!record.files.includes(p) && ours(r.at(p))) rmSync(r.at(p), { force: true });
  }
  atomicWrite(r.at(join(r.etcDir, RECORD)), `${JSON.stringify(record, null, 2)}\n`, 0o644);
  return { record, dropIn };
}

function readRecord(r: Resolved): InstallRecord | undefined {
  const path = r.at(join(r.etcDir, RECORD));
  if (!existsSync(path)) return undefined;
  try {
    const rec = JSON.parse(readFileSync(path, "utf8")) as InstallRecord;
    if (
      rec.version !== 1 ||
      !Array.isArray(rec.files) ||
      !rec.files.every((f) => typeof f === "string" && isAbsolute(f))
    )
      throw new Error("unexpected shape");
    return rec;
  } catch (err) {
    throw new InstallError(
      "ERR_INSTALL_CONTAINERD_CONFIG",
      `${join(r.etcDir, RECORD)} is not an install record: ${(err as Error).message}`,
    );
  }
}

/** What {@link uninstallContainerd} did. */
export interface UninstallResult {
  removed: string[];
  /** Files listed in the record that no longer carry the marker (left in place). */
  kept: string[];
}

/** Removes what {@link installContainerd} recorded, and the import line it added. */
export function uninstallContainerd(o: InstallOptions = {}): UninstallResult {
  const r = resolveOptions(o);
  const rec = readRecord(r);
  if (rec === undefined)
    throw new InstallError(
      "ERR_INSTALL_NOT_INSTALLED",
      `nothing to uninstall: ${join(r.etcDir, RECORD)} does not exist`,
    );
  const removed: string[] = [];
  const kept: string[] = [];
  for (const p of rec.files) {
    const at = r.at(p);
    if (!existsSync(at)) continue;
    if (ours(at)) {
      rmSync(at, { force: true });
      removed.push(p);
    } else kept.push(p);
  }
  if (rec.importLine !== undefined) {
    const main = r.at(rec.importLine.file);
    if (existsSync(main)) {
      const lines = readFileSync(main, "utf8").split("\n");
      const i = lines.indexOf(rec.importLine.line);
      if (i >= 0) {
        lines.splice(i, 1);
        atomicWrite(main, lines.join("\n"), statSync(main).mode & 0o7777);
        removed.push(`${rec.importLine.file} (the imports line)`);
      }
    }
  }
  rmSync(r.at(join(r.etcDir, RECORD)), { force: true });
  const etc = r.at(r.etcDir);
  if (existsSync(etc) && readdirSync(etc).length === 0) rmdirSync(etc);
  return { removed, kept };
}
