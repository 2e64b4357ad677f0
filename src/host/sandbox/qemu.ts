import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildInitDataDisk } from "../../protocol/agent/index.js";
import { encodeSampleLaunchField } from "../../tee/sample/index.js";
import { HostError } from "../errors.js";
import { sampleLaunchField } from "./process.js";
import { loopbackPorts, type QemuAccel, type QemuLaunch } from "./qemu-args.js";
import { type BootContext, type BootedVm, bootQemu, KvmGuestDidNotRun } from "./qemu-boot.js";
import {
  chooseAccel,
  ensureGuestImage,
  findQemu,
  guestImageMissing,
  hasGuestKernel,
  hostTeeSupport,
} from "./qemu-host.js";
import { type HangBudget, recordKvmVerdict } from "./qemu-probe.js";
import type { Sandbox, SandboxBackend, SandboxStartOptions } from "./sandbox.js";

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
  /** Under KVM, when a guest that printed no kernel banner is called hung (default 2 s of CPU). */
  hangBudget?: HangBudget;
  /** Ask for a confidential VM. Not built: refused with ERR_SANDBOX_NOT_BUILT. */
  tee?: "tdx" | "snp";
}

/** A started qemu sandbox, with what it measured about its own boot. */
export interface QemuSandbox extends Sandbox {
  readonly accel: QemuAccel;
  /** From qemu's spawn to the agent's first grpc.Health/Check answer, ms (the boot that won). */
  readonly bootMs: number;
  /** From qemu's spawn to the guest kernel's banner on the console, ms. */
  readonly kernelMs: number;
}

/**
 * The `qemu` sandbox: a real VM (qemu-system-x86_64; KVM when a probe saw a guest run under it,
 * else TCG; a KVM boot whose guest does not run falls back to TCG unless KVM was forced) booting
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
  const choice = await chooseAccel(qemu, image.kernel);
  log(`accelerator: ${choice.accel} (${choice.why})`);
  const launch: QemuLaunch = {
    qemu,
    accel: choice.accel,
    cpu: choice.cpu,
    kernel: image.kernel,
    initrd: image.initrd,
    guestDisk: image.disk,
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
  };
  const ctx = (l: QemuLaunch, why: string, forced: boolean): BootContext => ({
    why,
    forced,
    timeoutMs: opts.startTimeoutMs ?? (l.accel === "kvm" ? 90_000 : 400_000),
    ...(opts.hangBudget ? { hangBudget: opts.hangBudget } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    log,
  });
  let vm: BootedVm;
  let accel = choice.accel;
  try {
    vm = await bootQemu(launch, ctx(launch, choice.why, choice.forced));
  } catch (err) {
    if (!(err instanceof KvmGuestDidNotRun)) throw err;
    // The probe said KVM runs a guest, this boot says it does not: believe the boot, remember
    // it for this host, and boot again under TCG.
    const reason = `KVM (-cpu ${launch.cpu}) did not run the guest: ${err.message}`;
    if (choice.probe) {
      recordKvmVerdict(choice.probe.cacheFile, choice.probe.key, {
        ok: false,
        detail: `a sandbox boot: ${err.message}`,
        at: new Date().toISOString(),
      });
    }
    log(`${reason}; falling back to TCG (set COCO_QEMU_ACCEL=kvm to refuse the fallback)`);
    const tcg: QemuLaunch = { ...launch, accel: "tcg", cpu: "max" };
    accel = "tcg";
    vm = await bootQemu(tcg, ctx(tcg, `fallback: ${reason}`, false));
  }
  log(`qemu sandbox ready in ${Math.round(vm.bootMs)} ms (${accel})`);
  return {
    id: o.id,
    kind: "qemu",
    agentAddress: `unix://${vm.socketPath}`,
    // A plain VM with the sample TEE: no memory encryption, no hardware evidence.
    devOnly: true,
    pid: vm.child.pid ?? -1,
    exited: vm.exited,
    stop: vm.stop,
    accel,
    bootMs: vm.bootMs,
    kernelMs: vm.kernelMs,
  };
}
