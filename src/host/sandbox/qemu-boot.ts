import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DIST_ROOT } from "../../dist-root.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";
import { HostError } from "../errors.js";
import {
  agentSocketPath,
  consolePath,
  type QemuAccel,
  type QemuLaunch,
  qemuAgentSocketPath,
  qemuArgs,
} from "./qemu-args.js";
import {
  createHangWatch,
  DEFAULT_HANG_BUDGET,
  type HangBudget,
  KERNEL_BANNER,
} from "./qemu-probe.js";
import { spawnSandboxProcess } from "./spawn.js";

// The multiplexer in front of qemu's agent socket, run as its own small host process so it
// outlives a detached `coco run` (host code: it routes ttrpc frames, it never sees a secret).
const MUX_MAIN = join(DIST_ROOT, "src", "host", "sandbox", "qemu-mux.js");

/** How one boot runs: its accelerator's story, its deadline, and who may cancel it. */
export interface BootContext {
  /** Why this accelerator (for errors and logs). */
  why: string;
  /** KVM forced by the user: a guest that does not run is an error, not a fallback. */
  forced: boolean;
  timeoutMs: number;
  /** Under KVM, when a guest that printed no banner is called hung. */
  hangBudget?: HangBudget;
  signal?: AbortSignal;
  log: (line: string) => void;
}

/** A VM that is up: its agent answered a health check over virtio-serial. */
export interface BootedVm {
  child: ChildProcess;
  exited: Promise<void>;
  socketPath: string;
  stop(): Promise<void>;
  /** From qemu's spawn to the agent's first answer, ms. */
  bootMs: number;
  /** From qemu's spawn to the kernel's banner on the console, ms. */
  kernelMs: number;
}

/**
 * KVM was chosen by the probe but this guest did not run under it (qemu exited or the guest
 * printed no banner within the hang budget): the caller boots again under TCG.
 */
export class KvmGuestDidNotRun extends Error {}

const read = (p: string) => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
};
const tail = (text: string, n = 12) =>
  text
    .replace(/\r/g, "")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(-n)
    .join("\n");
const indent = (text: string) => text.replace(/^/gm, "    ");
/** qemu's own reason from its log: the first line that is not a warning. */
const qemuReason = (log: string) =>
  log
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l && !/^qemu-system-\S+: warning:/.test(l) && !/terminating on signal/.test(l))
    ?.replace(/^qemu-system-\S+: /, "") ?? "";

/**
 * An ERR_SANDBOX_START a user can act on: what failed, under which accelerator and why that one,
 * the console and qemu log paths with their last lines (or that the guest printed nothing), and
 * the variable that forces the other accelerator.
 */
export function startFailure(
  what: string,
  l: Pick<QemuLaunch, "accel" | "stateDir">,
  why: string,
  cause?: unknown,
): HostError {
  const consoleFile = consolePath(l.stateDir);
  const qemuLog = join(l.stateDir, "qemu.log");
  const con = tail(read(consoleFile));
  const qlog = tail(read(qemuLog), 5);
  const other: QemuAccel = l.accel === "kvm" ? "tcg" : "kvm";
  const hint =
    other === "tcg"
      ? "set COCO_QEMU_ACCEL=tcg to boot under TCG emulation instead (slower; works on every host)"
      : "set COCO_QEMU_ACCEL=kvm to force KVM where /dev/kvm runs guests (see docs/qemu-sandbox.md)";
  const lines = [
    `${what} (accelerator ${l.accel}: ${why})`,
    `console ${consoleFile}: ${con ? `last lines:\n${indent(con)}` : "the guest printed nothing"}`,
    `qemu log ${qemuLog}:${qlog ? `\n${indent(qlog)}` : " empty"}`,
    hint,
  ];
  return new HostError("ERR_SANDBOX_START", lines.join("\n"), cause ? { cause } : undefined);
}

/** Boots one VM and waits for its agent; see {@link BootContext} for how a failure ends. */
export async function bootQemu(l: QemuLaunch, c: BootContext): Promise<BootedVm> {
  const socketPath = agentSocketPath(l.stateDir);
  const qemuSocket = qemuAgentSocketPath(l.stateDir);
  const consoleFile = consolePath(l.stateDir);
  const qemuLog = join(l.stateDir, "qemu.log");
  rmSync(consoleFile, { force: true });
  rmSync(socketPath, { force: true });
  rmSync(qemuSocket, { force: true });
  const t0 = performance.now();
  const { child, exited, gone } = spawnSandboxProcess(l.qemu, qemuArgs(l), qemuLog, "w");
  let forwarded = 0;
  const forward = () => {
    // Only the guest's own diagnostic lines (init, agent, bridge), never kernel noise.
    const lines = read(consoleFile).split("\n");
    for (const line of lines.slice(forwarded, -1)) {
      if (/^coco-/.test(line)) c.log(line);
    }
    forwarded = Math.max(forwarded, lines.length - 1);
  };
  let mux: ChildProcess | undefined;
  let muxGone = false;
  // Stops the mux and waits for it to have exited (SIGKILL after 5 s), so nothing of this VM
  // outlives stop().
  const killMux = async () => {
    const m = mux;
    if (!m || muxGone || m.pid === undefined) return;
    const pid = m.pid;
    const exited = new Promise<void>((r) => m.once("exit", () => r()));
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };
  const stop = async () => {
    if (gone() || child.pid === undefined) {
      await killMux();
      return;
    }
    try {
      process.kill(child.pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        if (!gone() && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
    // The mux exits by itself when qemu's end closes; this covers a mux still starting.
    await killMux();
  };
  const fail = async (what: string, cause?: unknown): Promise<never> => {
    await stop();
    throw startFailure(what, l, c.why, cause);
  };

  const deadline = Date.now() + c.timeoutMs;
  const watch =
    l.accel === "kvm" && child.pid !== undefined
      ? createHangWatch(child.pid, c.hangBudget ?? DEFAULT_HANG_BUDGET)
      : undefined;
  let kernelMs = 0;
  c.log(`qemu started (${l.accel}, -cpu ${l.cpu}, ${l.memoryMiB} MiB, ${l.cpus} vCPU)`);
  for (;;) {
    forward();
    const text = read(consoleFile);
    if (!kernelMs && KERNEL_BANNER.test(text)) {
      kernelMs = performance.now() - t0;
      c.log(`guest kernel started after ${Math.round(kernelMs)} ms`);
    }
    if (c.signal?.aborted) await fail("the sandbox start was cancelled");
    if (l.accel === "kvm" && !kernelMs) {
      // Under KVM the banner comes within milliseconds of guest CPU; without it the vCPU does
      // not run guest code (qemu aborted, or a nested KVM that spins: PVM with a stock kernel).
      const hung = gone()
        ? `qemu exited: ${qemuReason(read(qemuLog)) || "no output"}`
        : watch?.check();
      if (hung) {
        if (!c.forced) {
          await stop();
          throw new KvmGuestDidNotRun(hung);
        }
        await fail(`the guest kernel did not run under KVM (${hung})`);
      }
    }
    if (gone()) {
      await fail(
        `qemu exited during start${qemuReason(read(qemuLog)) ? `: ${qemuReason(read(qemuLog))}` : ""}`,
      );
    }
    if (!mux && existsSync(qemuSocket)) {
      const muxLog = openSync(join(l.stateDir, "mux.log"), "w", 0o600);
      mux = spawn(process.execPath, [MUX_MAIN, socketPath, qemuSocket], {
        stdio: ["ignore", "ignore", muxLog],
        detached: true,
      });
      closeSync(muxLog);
      mux.once("exit", () => {
        muxGone = true;
      });
    }
    if (muxGone) {
      await fail(
        `the agent multiplexer exited: ${tail(read(join(l.stateDir, "mux.log")), 3) || "no output"}`,
      );
    }
    if (/coco-agent: fatal|ERR_GUEST_/.test(text)) await fail("the guest failed to start");
    const ready = text.includes("serial bridge ready") && text.includes("agent listening");
    if (ready && existsSync(socketPath)) {
      // The agent is up in the guest; a health check proves the whole path (mux → qemu socket
      // → virtio-serial → bridge → agent socket).
      const client = new TtrpcClient(`unix://${socketPath}`, {
        timeoutMs: Math.max(5000, deadline - Date.now()),
      });
      try {
        await client.callRaw("grpc.Health", "Check", new Uint8Array(0));
        break;
      } catch (err) {
        await fail(`the agent did not answer over virtio-serial: ${(err as Error).message}`, err);
      } finally {
        client.close();
      }
    }
    if (Date.now() > deadline) {
      await fail(`the guest agent did not come up within ${Math.round(c.timeoutMs / 1000)} s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  forward();
  child.unref();
  mux?.unref();
  return { child, exited, socketPath, stop, bootMs: performance.now() - t0, kernelMs };
}
