import { spawn } from "node:child_process";

/** What a finished command printed and how it ended. */
export interface CommandResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options for {@link runCommand}. */
export interface RunOptions {
  /** Bytes written to stdin, then closed. */
  input?: string | Uint8Array;
  /** Killed (SIGKILL) after this many milliseconds (default 120 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Runs a command to completion without blocking the event loop (servers the test runs in the
 * same process keep answering), with a time limit. Never throws for a non-zero exit: the
 * caller reads `status`.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, [...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.once("error", (e) => {
      clearTimeout(timer);
      resolve({ status: null, signal: null, stdout: "", stderr: `${command}: ${e.message}` });
    });
    child.once("close", (status, signal) => {
      clearTimeout(timer);
      resolve({
        status,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

/** Like {@link runCommand}, but a non-zero exit throws an error naming the command and its stderr. */
export async function runChecked(
  command: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<string> {
  const r = await runCommand(command, args, opts);
  if (r.status !== 0) {
    const how = r.signal ? `signal ${r.signal}` : `exit code ${r.status}`;
    throw new Error(
      `${command} ${args.join(" ")} failed (${how}): ${(r.stderr || r.stdout).trim().slice(-4000)}`,
    );
  }
  return r.stdout;
}
