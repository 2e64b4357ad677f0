import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildInitDataDisk } from "../../protocol/agent/index.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";
import { encodeSampleLaunchField } from "../../tee/sample/index.js";
import { HostError } from "../errors.js";
import { sampleLaunchField } from "./process.js";
import {
  agentSocketPath,
  consolePath,
  loopbackPorts,
  type QemuAccel,
  type QemuLaunch,
  qemuAgentSocketPath,
  qemuArgs,
} from "./qemu-args.js";
import {
  chooseAccel,
  ensureGuestImage,
  findQemu,
  guestImageMissing,
  hasGuestKernel,
  hostTeeSupport,
} from "./qemu-host.js";
import type { Sandbox, SandboxBackend, SandboxStartOptions } from "./sandbox.js";
import { spawnSandboxProcess } from "./spawn.js";

// The multiplexer in front of qemu's agent socket, run as its own small host process so it
// outlives a detached `coco run` (host code: it routes ttrpc frames, it never sees a secret).
const MUX_MAIN = fileURLToPath(new URL("./qemu-mux.js", import.meta.url));

/** Options for {@link createQemuSandboxBackend}. */
export interface QemuSandboxOptions {
  /** Guest memory, MiB (default 2048: the initramfs holds node, runc and the pulled images). */
  memoryMiB?: number;
  /** vCPUs (default 2). */
  cpus?: number;
  /** Start timeout, ms (default 90 s with KVM, 400 s with TCG). */
  startTimeoutMs?: number;
  /**
   * Flag for the guest's node processes (default: COCO_QEMU_NODE_OPTIONS, else none).
   * `--jitless` shortens the agent's start under TCG, where JIT-generated code must itself be
   * translated by qemu.
   */
  nodeOptions?: string[];
  /** Ask for a confidential VM. Not built: refused with ERR_SANDBOX_NOT_BUILT. */
  tee?: "tdx" | "snp";
}

/** A started qemu sandbox, with what it measured about its own boot. */
export interface QemuSandbox extends Sandbox {
  readonly accel: QemuAccel;
  /** From qemu's spawn to the agent's first grpc.Health/Check answer, ms. */
  readonly bootMs: number;
}

/**
 * The `qemu` sandbox: a real VM (qemu-system-x86_64, KVM when it works, TCG otherwise) booting
 * Debian's kernel with an initramfs carrying node, runc and the guest components. The agent is
 * reached over a virtio-serial port whose host end is a unix socket, the init-data travels as a
 * read-only virtio-blk disk as with Kata. The guest is a plain VM with the sample TEE: it isolates
 * the pod from the host's processes but gives NO confidentiality (the host can read guest
 * memory), so it is reported as development-only, like coco-dev.
 */
export function createQemuSandboxBackend(opts: QemuSandboxOptions = {}): SandboxBackend {
  return {
    kind: "qemu",
    async unavailable() {
      if (opts.tee) return teeRefusal(opts.tee);
      if (!findQemu())
        return "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)";
      if (!hasGuestKernel()) {
        return "no guest kernel: install Debian's linux-image-amd64 (scripts/setup does)";
      }
      return guestImageMissing();
    },
    start: (o) => startQemuSandbox(o, opts),
  };
}

function teeRefusal(tee: "tdx" | "snp"): string {
  const host = hostTeeSupport();
  const has = tee === "tdx" ? host.tdx : host.snp;
  return `a confidential ${tee.toUpperCase()} VM is not built (ERR_SANDBOX_NOT_BUILT); the host ${has ? "advertises" : "does not advertise"} ${tee.toUpperCase()} support`;
}

async function startQemuSandbox(
  o: SandboxStartOptions,
  opts: QemuSandboxOptions,
): Promise<QemuSandbox> {
  if (opts.tee) throw new HostError("ERR_SANDBOX_NOT_BUILT", teeRefusal(opts.tee));
  const qemu = findQemu();
  if (!qemu) throw new HostError("ERR_SANDBOX_START", "qemu-system-x86_64 is not installed");
  const log = o.onLog ?? (() => {});
  mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  const image = await ensureGuestImage(log);
  let initdataDisk: string | undefined;
  if (o.initData) {
    // Attached as the shim attaches it: a block image with magic, length and gzip.
    initdataDisk = join(o.stateDir, "initdata.img");
    writeFileSync(initdataDisk, buildInitDataDisk(o.initData), { mode: 0o644 });
  }
  const insecure = o.insecureRegistries ?? [];
  const { accel, why } = await chooseAccel(qemu);
  if (accel === "tcg") log(`using TCG emulation (${why}): boots take minutes, not seconds`);
  return bootOnce(
    {
      qemu,
      accel,
      kernel: image.kernel,
      initrd: image.initrd,
      stateDir: o.stateDir,
      memoryMiB: opts.memoryMiB ?? 2048,
      cpus: opts.cpus ?? 2,
      ...(initdataDisk ? { initdataDisk } : {}),
      insecureRegistries: insecure,
      forwardPorts: loopbackPorts(insecure, o.initData),
      // As the process sandbox and a VMM setting MRCONFIGID: the launcher, not the guest, sets it.
      ...(o.initData
        ? { sampleLaunchField: encodeSampleLaunchField(sampleLaunchField(o.initData)) }
        : {}),
      nodeOptions:
        opts.nodeOptions ??
        (process.env.COCO_QEMU_NODE_OPTIONS ?? "").split(" ").filter((w) => w !== ""),
    },
    o,
    opts,
  );
}

async function bootOnce(
  l: QemuLaunch,
  o: SandboxStartOptions,
  opts: QemuSandboxOptions,
): Promise<QemuSandbox> {
  const log = o.onLog ?? (() => {});
  const socketPath = agentSocketPath(l.stateDir);
  const qemuSocket = qemuAgentSocketPath(l.stateDir);
  const consoleFile = consolePath(l.stateDir);
  const qemuLog = join(l.stateDir, "qemu.log");
  rmSync(consoleFile, { force: true });
  rmSync(socketPath, { force: true });
  rmSync(qemuSocket, { force: true });
  const t0 = performance.now();
  const { child, exited, gone } = spawnSandboxProcess(l.qemu, qemuArgs(l), qemuLog, "w");
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return "";
    }
  };
  const tail = (text: string, n = 12) => text.trim().split("\n").slice(-n).join("\n");
  let forwarded = 0;
  const forward = () => {
    // Only the guest's own diagnostic lines (init, agent, bridge), never kernel noise.
    const lines = read(consoleFile).split("\n");
    for (const line of lines.slice(forwarded, -1)) {
      if (/^coco-/.test(line)) log(line);
    }
    forwarded = Math.max(forwarded, lines.length - 1);
  };
  let mux: ChildProcess | undefined;
  let muxGone = false;
  const killMux = () => {
    try {
      if (mux?.pid !== undefined && !muxGone) process.kill(mux.pid, "SIGTERM");
    } catch {
      // gone
    }
  };
  const stop = async () => {
    if (gone() || child.pid === undefined) {
      killMux();
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
    killMux();
  };

  const timeoutMs = opts.startTimeoutMs ?? (l.accel === "kvm" ? 90_000 : 400_000);
  const deadline = Date.now() + timeoutMs;
  log(`qemu started (${l.accel}, ${l.memoryMiB} MiB, ${l.cpus} vCPU), waiting for the agent`);
  for (;;) {
    forward();
    if (gone()) {
      const why = tail(read(qemuLog), 3) || "no output";
      throw new HostError(
        "ERR_SANDBOX_START",
        `qemu exited during start (${l.accel}): ${why}\n${tail(read(consoleFile))}`,
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
      await stop();
      throw new HostError(
        "ERR_SANDBOX_START",
        `the agent multiplexer exited: ${tail(read(join(l.stateDir, "mux.log")), 3)}`,
      );
    }
    const text = read(consoleFile);
    if (/coco-agent: fatal|ERR_GUEST_/.test(text)) {
      await stop();
      throw new HostError("ERR_SANDBOX_START", `the guest failed to start:\n${tail(text)}`);
    }
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
        await stop();
        throw new HostError(
          "ERR_SANDBOX_START",
          `the agent did not answer over virtio-serial: ${(err as Error).message}`,
          { cause: err },
        );
      } finally {
        client.close();
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new HostError(
        "ERR_SANDBOX_START",
        `the guest agent did not come up within ${timeoutMs} ms (${l.accel}):\n${tail(text)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const bootMs = performance.now() - t0;
  forward();
  log(`qemu sandbox ready in ${Math.round(bootMs)} ms (${l.accel})`);
  child.unref();
  mux?.unref();
  return {
    id: o.id,
    kind: "qemu",
    agentAddress: `unix://${socketPath}`,
    // A plain VM with the sample TEE: no memory encryption, no hardware evidence.
    devOnly: true,
    pid: child.pid ?? -1,
    exited,
    stop,
    accel: l.accel,
    bootMs,
  };
}
