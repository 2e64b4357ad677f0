import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

/** A sandbox's top process, started detached, and whether it has gone. */
export interface SandboxProcess {
  child: ChildProcess;
  /** Resolves when the process has exited (or failed to spawn). */
  exited: Promise<void>;
  /** True once the process has exited (or failed to spawn). */
  gone(): boolean;
}

/**
 * Starts a sandbox's top process detached, its stdout and stderr going to `logPath` (opened
 * with `flags`, mode 0600), and tracks its exit.
 */
export function spawnSandboxProcess(
  command: string,
  args: string[],
  logPath: string,
  flags: "a" | "w",
  env?: NodeJS.ProcessEnv,
): SandboxProcess {
  const fd = openSync(logPath, flags, 0o600);
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      stdio: ["ignore", fd, fd],
      detached: true,
      ...(env ? { env } : {}),
    });
  } finally {
    closeSync(fd);
  }
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      gone = true;
      resolve();
    });
    child.once("error", () => {
      gone = true;
      resolve();
    });
  });
  return { child, exited, gone: () => gone };
}
