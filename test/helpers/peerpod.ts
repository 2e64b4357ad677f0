/**
 * Test helpers for peer pods: a `coco peerpod-adaptor` process on a private state folder and
 * socket, stopped by PID (SIGTERM, or SIGKILL to play an adaptor that dies mid-pod).
 */
import { join } from "node:path";
import { type RunningProcess, startProcess } from "./process.js";
import { cocoCli } from "./trustee-process.js";

/** A running adaptor. */
export interface AdaptorProcess {
  socket: string;
  stateDir: string;
  readonly pid: number;
  output(): string;
  /** SIGTERM: the adaptor closes its proxies; VMs keep running. */
  stop(): Promise<void>;
  /** SIGKILL: the adaptor dies at once. */
  kill(): Promise<void>;
  /** Starts it again on the same state folder (garbage collection runs first). */
  restart(): Promise<void>;
}

/** Starts `coco peerpod-adaptor --provider <provider>` with `args`, its state under `dir`. */
export async function startAdaptorProcess(
  dir: string,
  provider: string,
  args: string[] = [],
  timeoutMs = 60_000,
): Promise<AdaptorProcess> {
  const stateDir = join(dir, "peerpod");
  const socket = join(stateDir, "hypervisor.sock");
  let proc: RunningProcess | undefined;
  const start = async () => {
    proc = await startProcess({
      command: process.execPath,
      args: [
        cocoCli,
        "peerpod-adaptor",
        "--provider",
        provider,
        "--state-dir",
        stateDir,
        "--socket",
        socket,
        "--gc-interval",
        "0",
        ...args,
      ],
      ready: { kind: "file", path: socket },
      timeoutMs,
      name: "coco peerpod-adaptor",
    });
  };
  await start();
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    socket,
    stateDir,
    get pid() {
      return proc?.pid ?? 0;
    },
    output: () => proc?.output() ?? "",
    stop: async () => proc?.stop(),
    async kill() {
      const pid = proc?.pid;
      if (!pid) return;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      await proc?.stop();
    },
    async restart() {
      await proc?.stop();
      const { rmSync } = await import("node:fs");
      // A killed adaptor leaves its socket file: the new one must not be "ready" on the old file.
      rmSync(socket, { force: true });
      await start();
    },
  };
}
