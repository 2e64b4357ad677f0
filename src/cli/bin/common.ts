/**
 * Shared plumbing of the drop-in binaries that carry upstream's names (`attestation-agent`,
 * `confidential-data-hub`, `api-server-rest`, `coco_keyprovider`, `kbs`, `kbs-client`): error
 * reporting, `RUST_LOG`-style log levels, the kernel command line, and refusals that name the
 * upstream option and the reason.
 */
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { CocoError } from "../../errors.js";
import { startEntry } from "../../node-runtime.js";
import { packageVersion } from "../../version.js";

/** Codes of the drop-in binaries' own failures. */
export type DropInErrorCode = "ERR_DROPIN_UNSUPPORTED" | "ERR_DROPIN_USAGE";

/** A refused upstream option or a bad invocation. */
export class DropInError extends CocoError<DropInErrorCode> {}

/** Throws ERR_DROPIN_UNSUPPORTED naming the upstream `option` and why coco-ts refuses it. */
export function refuse(option: string, why: string): never {
  throw new DropInError("ERR_DROPIN_UNSUPPORTED", `${option} is not supported by coco-ts: ${why}`);
}

/** A commander program named like the upstream binary, with clap's `-V, --version`. */
export function dropInProgram(name: string, description: string): Command {
  return new Command(name)
    .description(`${description} (coco-ts, drop-in for upstream's ${name})`)
    .version(packageVersion(), "-V, --version")
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

/**
 * Runs a drop-in's program on a supported Node.js (else `name: ERR_NODE_VERSION: …`, exit 1),
 * with the compile cache on for what it loads from here; a failure prints
 * `name: CODE: message` and exits 1.
 */
export async function runDropIn(name: string, program: Command): Promise<void> {
  try {
    await startEntry(name, () => program.parseAsync(process.argv));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${name}: ${typeof code === "string" ? `${code}: ` : ""}${message}\n`);
    process.exitCode = 1;
  }
}

const LEVELS = ["off", "error", "warn", "info", "debug", "trace"] as const;
/** A log level as tracing's EnvFilter names them. */
export type LogLevel = (typeof LEVELS)[number];

/**
 * The default level of a `RUST_LOG`-style filter (`info`, `warn,ttrpc=debug`, …): the last
 * directive without a target. Per-target directives are accepted and ignored (our components
 * log as one target). An invalid filter is an error, as upstream's "RUST_LOG is present but
 * invalid".
 */
export function parseLogFilter(filter: string, fallback: LogLevel = "info"): LogLevel {
  let level: LogLevel = fallback;
  for (const raw of filter.split(",")) {
    const d = raw.trim().toLowerCase();
    if (d === "") continue;
    const eq = d.lastIndexOf("=");
    const lvl = eq >= 0 ? d.slice(eq + 1) : d;
    if (!(LEVELS as readonly string[]).includes(lvl)) {
      throw new DropInError(
        "ERR_DROPIN_USAGE",
        `log filter ${JSON.stringify(filter.slice(0, 80))} is invalid: ${JSON.stringify(lvl.slice(0, 20))} is not one of ${LEVELS.join(", ")}`,
      );
    }
    if (eq < 0) level = lvl as LogLevel;
  }
  return level;
}

/**
 * A line logger to stderr honouring `RUST_LOG` (which wins, as upstream) or the config's level.
 * Our components log progress lines; they are shown at `info` and above.
 */
export function stderrLogger(
  name: string,
  configLevel: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): (line: string) => void {
  const level =
    env.RUST_LOG !== undefined
      ? parseLogFilter(env.RUST_LOG)
      : parseLogFilter(configLevel ?? "info");
  if (LEVELS.indexOf(level) < LEVELS.indexOf("info")) return () => {};
  return (line) =>
    process.stderr.write(
      `${new Date().toISOString()} ${line.startsWith(`${name}:`) ? line : `${name}: ${line}`}\n`,
    );
}

/** The kernel command line (`/proc/cmdline`), or "" where it cannot be read. */
export function kernelCmdline(path = "/proc/cmdline"): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The value of `key=` in a kernel command line (first occurrence), if present. */
export function cmdlineParam(cmdline: string, key: string): string | undefined {
  for (const word of cmdline.split(/\s+/)) {
    if (word.startsWith(`${key}=`)) return word.slice(key.length + 1);
  }
  return undefined;
}

/** True when the module at `metaUrl` is the program node was started with (symlinks resolved). */
export function isMain(metaUrl: string): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(argv1) === fileURLToPath(metaUrl);
  } catch {
    return false;
  }
}
