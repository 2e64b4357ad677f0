import { join } from "node:path";
import { SAMPLE_LAUNCH_FIELD_ENV } from "../../tee/sample/index.js";

/** How the guest's vCPUs run: hardware virtualization (KVM) or qemu's emulator (TCG). */
export type QemuAccel = "kvm" | "tcg";

/** Everything that decides one VM's qemu command line. */
export interface QemuLaunch {
  qemu: string;
  accel: QemuAccel;
  /** The vCPU model (`-cpu`): `max` under TCG, `host` or COCO_QEMU_KVM_CPU under KVM. */
  cpu: string;
  kernel: string;
  initrd: string;
  /** The read-only programs disk (node, runc, the guest bundles), attached before any other. */
  guestDisk: string;
  stateDir: string;
  memoryMiB: number;
  cpus: number;
  /** The init-data block image, attached read-only as a virtio-blk disk. */
  initdataDisk?: string;
  /** Registries the guest reaches over plain HTTP (passed on the kernel command line). */
  insecureRegistries: string[];
  /** Host loopback TCP ports the guest reaches at 127.0.0.1:PORT through the user network. */
  forwardPorts: number[];
  /**
   * The sample TEE's launch field (MRCONFIGID's development stand-in: the init-data digest),
   * standard base64, set by the launcher as a VMM sets the hardware field.
   */
  sampleLaunchField?: string;
  /** Flags for the guest's node processes (NODE_OPTIONS in init's environment). */
  nodeOptions?: string[];
}

/** The host-side unix socket qemu serves the guest's `agent.0` port on (one peer: the mux). */
export function qemuAgentSocketPath(stateDir: string): string {
  return join(stateDir, "qemu-agent.sock");
}

/** The agent address host clients dial: the multiplexer in front of qemu's socket. */
export function agentSocketPath(stateDir: string): string {
  return join(stateDir, "agent.sock");
}

/** The guest console (kernel, init, agent and bridge diagnostics; never secrets). */
export function consolePath(stateDir: string): string {
  return join(stateDir, "console.log");
}

// Kernel command-line words carry only host-chosen, non-secret knobs; anything else is refused
// so a registry name cannot smuggle another parameter in.
const SAFE_WORD = /^[A-Za-z0-9._:\-[\]]+$/;

/**
 * The guest kernel command line: the console on the first serial port from the first instruction
 * (earlyprintk, full log level: the boot's progress is in console.log and a hang shows where it
 * stopped), and coco.* knobs read by the guest init.
 */
export function kernelCommandLine(l: QemuLaunch): string {
  const words = ["console=ttyS0", "earlyprintk=serial,ttyS0", "panic=-1", "no_timer_check"];
  if (l.initdataDisk) words.push("coco.initdata=1");
  const regs = l.insecureRegistries.filter((r) => SAFE_WORD.test(r));
  if (regs.length !== l.insecureRegistries.length) {
    throw new RangeError("an insecure registry name holds characters a kernel parameter cannot");
  }
  if (regs.length > 0) words.push(`coco.insecure=${regs.join(",")}`);
  if (l.forwardPorts.length > 0) words.push(`coco.forward=${l.forwardPorts.join(",")}`);
  // The kernel hands `NAME=value` words it does not know to init as environment variables.
  if (l.sampleLaunchField !== undefined) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(l.sampleLaunchField)) {
      throw new RangeError("the sample launch field is not standard base64");
    }
    words.push(`${SAMPLE_LAUNCH_FIELD_ENV}=${l.sampleLaunchField}`);
  }
  const nodeOpts = l.nodeOptions ?? [];
  if (nodeOpts.some((o) => !/^--[a-z0-9-]+(=[A-Za-z0-9._-]+)?$/.test(o))) {
    throw new RangeError("a guest node option is not a plain --flag[=value]");
  }
  if (nodeOpts.length === 1) words.push(`NODE_OPTIONS=${nodeOpts[0]}`);
  else if (nodeOpts.length > 1) throw new RangeError("at most one guest node option is supported");
  return words.join(" ");
}

/**
 * The qemu argv. The agent port is a virtio-serial port named `agent.0` whose host end is a unix
 * socket qemu listens on (server=on, wait=off), held by the host's multiplexer (qemu-mux.ts). No
 * vhost-vsock is needed (this is kata's old virtio-serial transport).
 */
export function qemuArgs(l: QemuLaunch): string[] {
  const args = [
    "-name",
    "coco-sandbox",
    "-machine",
    `q35,accel=${l.accel}`,
    "-cpu",
    l.cpu,
    "-m",
    String(l.memoryMiB),
    "-smp",
    String(l.cpus),
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-vga",
    "none",
    "-no-reboot",
    "-kernel",
    l.kernel,
    "-initrd",
    l.initrd,
    "-append",
    kernelCommandLine(l),
    "-serial",
    `file:${consolePath(l.stateDir)}`,
    "-chardev",
    `socket,path=${qemuAgentSocketPath(l.stateDir)},server=on,wait=off,id=agent`,
    "-device",
    "virtio-serial-pci,id=serial0",
    "-device",
    "virtserialport,bus=serial0.0,chardev=agent,name=agent.0",
    "-netdev",
    "user,id=net0",
    "-device",
    "virtio-net-pci,netdev=net0",
    "-device",
    "virtio-rng-pci",
    "-drive",
    `file=${l.guestDisk},if=none,id=guest,format=raw,readonly=on`,
    "-device",
    "virtio-blk-pci,drive=guest",
  ];
  if (l.initdataDisk) {
    args.push(
      "-drive",
      `file=${l.initdataDisk},if=none,id=initdata,format=raw,readonly=on`,
      "-device",
      "virtio-blk-pci,drive=initdata",
    );
  }
  return args;
}

/**
 * Host loopback ports the guest must reach: the loopback registries' ports and every
 * `127.0.0.1:PORT` / `localhost:PORT` named in the init-data TOML (Trustee's URL in aa.toml and
 * cdh.toml). The init-data is not secret; it is read here only for these addresses.
 */
export function loopbackPorts(insecureRegistries: string[], initData?: Uint8Array): number[] {
  const ports = new Set<number>();
  const add = (p: string | undefined) => {
    const n = Number(p);
    if (Number.isInteger(n) && n > 0 && n < 65536) ports.add(n);
  };
  for (const r of insecureRegistries) {
    const m = /^(?:127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d+)$/.exec(r);
    if (m) add(m[1]);
  }
  if (initData) {
    const text = new TextDecoder().decode(initData);
    for (const m of text.matchAll(/(?:127\.0\.0\.1|localhost):(\d{1,5})\b/g)) add(m[1]);
  }
  return [...ports].sort((a, b) => a - b);
}
