import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { CocoError } from "../../src/errors.js";

/** Codes for failures of test processes. */
export type ProcessErrorCode = "ERR_PROCESS_START" | "ERR_PROCESS_EXITED" | "ERR_PROCESS_TIMEOUT";

/** A test process that could not be started or did not become ready. */
export class ProcessError extends CocoError<ProcessErrorCode> {}

/** How to decide that a started process is ready. */
export type Readiness =
  | { kind: "tcp"; port: number; host?: string }
  | { kind: "http"; url: string; ca?: string | Buffer }
  | { kind: "file"; path: string }
  | { kind: "none" };

/** Options for {@link startProcess}. */
export interface StartOptions {
  command: string;
  args?: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  ready: Readiness;
  /** How long to wait for readiness, in milliseconds (default 15 s). */
  timeoutMs?: number;
  /** A name used in error messages (default: the command). */
  name?: string;
  /** Bytes written to the child's stdin, then closed (keeps secrets out of argv). */
  stdin?: string | Uint8Array;
}

/** A running test process. `stop()` is idempotent and safe to call from `after()`. */
export interface RunningProcess {
  readonly pid: number;
  readonly name: string;
  /** The last 64 KiB of combined stdout and stderr. */
  output(): string;
  /**
   * How the process ended, or undefined while it runs (a watchdog's question). A process that
   * failed to spawn reports code null and the spawn error's message as `error`.
   */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null; error?: string } | undefined;
  /** Resolves when the process has exited (or failed to spawn). */
  readonly exited: Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
});

/**
 * Starts `command`, waits until it answers as `ready` says, and returns a handle that stops it
 * by PID. A process that exits before it is ready, or that never answers, is a clear
 * {@link ProcessError} naming it, with the tail of its output.
 */
export async function startProcess(opts: StartOptions): Promise<RunningProcess> {
  const name = opts.name ?? opts.command;
  let buffer = "";
  const keep = (chunk: Buffer) => {
    buffer = (buffer + chunk.toString("utf8")).slice(-65536);
  };
  let child: ChildProcess;
  try {
    child = spawn(opts.command, [...(opts.args ?? [])], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch (err) {
    throw new ProcessError("ERR_PROCESS_START", `${name}: could not start: ${String(err)}`, {
      cause: err,
    });
  }
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
  else child.stdin?.end();

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      live.delete(child);
      resolve();
    });
    child.once("error", (err) => {
      spawnError = err;
      live.delete(child);
      resolve();
    });
  });
  live.add(child);
  await new Promise<void>((resolve) => {
    child.once("spawn", resolve);
    child.once("error", () => resolve());
  });

  const handle: RunningProcess = {
    get pid() {
      return child.pid ?? -1;
    },
    name,
    output: () => buffer,
    exitStatus: () =>
      exited !== undefined
        ? exited
        : spawnError !== undefined
          ? { code: null, signal: null, error: spawnError.message }
          : undefined,
    exited: exitPromise,
    async stop() {
      if (exited !== undefined || spawnError !== undefined || child.pid === undefined) return;
      try {
        process.kill(child.pid, "SIGTERM");
      } catch {
        return;
      }
      const killer = setTimeout(() => {
        if (exited === undefined && child.pid !== undefined) {
          try {
            process.kill(child.pid, "SIGKILL");
          } catch {
            // gone between the check and the kill
          }
        }
      }, 3000);
      await exitPromise;
      clearTimeout(killer);
    },
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 15000);
  for (;;) {
    if (spawnError !== undefined) {
      throw new ProcessError(
        "ERR_PROCESS_START",
        `${name}: could not start: ${spawnError.message}`,
        {
          cause: spawnError,
        },
      );
    }
    if (exited !== undefined) {
      const how = exited.signal ? `signal ${exited.signal}` : `exit code ${exited.code}`;
      throw new ProcessError(
        "ERR_PROCESS_EXITED",
        `${name}: exited with ${how} before it was ready; last output:\n${tail(buffer)}`,
      );
    }
    if (await isReady(opts.ready)) return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new ProcessError(
        "ERR_PROCESS_TIMEOUT",
        `${name}: not ready after ${opts.timeoutMs ?? 15000} ms; last output:\n${tail(buffer)}`,
      );
    }
    await Promise.race([sleep(50), exitPromise]);
  }
}

function tail(s: string): string {
  return s.split("\n").slice(-20).join("\n");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function isReady(ready: Readiness): Promise<boolean> {
  switch (ready.kind) {
    case "none":
      return true;
    case "tcp":
      return tcpAnswers(ready.host ?? "127.0.0.1", ready.port);
    case "http":
      return httpAnswers(ready.url, ready.ca);
    case "file":
      return existsSync(ready.path);
  }
}

function tcpAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    sock.setTimeout(500);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("timeout", () => {
      sock.destroy();
      resolve(false);
    });
    sock.once("error", () => resolve(false));
  });
}

async function httpAnswers(url: string, ca?: string | Buffer): Promise<boolean> {
  const request = url.startsWith("https:") ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(url, { method: "GET", timeout: 1000, ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      resolve(true);
    });
    req.once("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.once("error", () => resolve(false));
    req.end();
  });
}
