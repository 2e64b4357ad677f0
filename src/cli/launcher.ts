/**
 * Launchers for coco-ts programs installed on a node (the shim containerd starts, `coco`
 * itself): a small `/bin/sh` script that runs the program's entry on an absolute Node.js path.
 * A `#!/usr/bin/env node` bin would take whatever `node` the caller's PATH finds (containerd's
 * PATH rarely has Node 24 first); the launcher pins the Node.js that installed it, which the
 * entry point's own check (`ERR_NODE_VERSION`) already proved supported.
 */
import { chmodSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";
import { CocoError } from "../errors.js";

/** Single-quotes `s` for /bin/sh. */
function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The launcher's text: `exec NODE ENTRY "$@"`, both paths absolute. */
export function launcherScript(entry: string, node: string = process.execPath): string {
  for (const [what, p] of [
    ["entry", entry],
    ["node", node],
  ] as const) {
    if (!isAbsolute(p) || /[\n\r\0]/.test(p)) {
      throw new CocoError("ERR_LAUNCHER_PATH", `the launcher's ${what} must be an absolute path`);
    }
  }
  return `#!/bin/sh\n# Written by coco-ts: runs ${basename(entry)} on Node.js ${process.version}.\nexec ${shQuote(node)} ${shQuote(entry)} "$@"\n`;
}

/**
 * Writes a launcher for `entry` at `dest` (mode 0755), atomically: a temporary file in the same
 * directory renamed over `dest`, so a running containerd never execs a half-written file.
 */
export function writeLauncher(dest: string, entry: string, node: string = process.execPath): void {
  const text = launcherScript(entry, node);
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode: 0o755 });
  chmodSync(tmp, 0o755);
  renameSync(tmp, dest);
}
