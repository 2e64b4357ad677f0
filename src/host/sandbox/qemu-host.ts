import { execFile } from "node:child_process";
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
} from "node:fs";
import { delimiter, join } from "node:path";
import { DIST_ROOT } from "../../dist-root.js";
import { HostError } from "../errors.js";
import type { QemuAccel } from "./qemu-args.js";
import { probeKvm } from "./qemu-probe.js";

// dist/ → the checkout (where scripts/build-guest-image lives), bundled or not.
const REPO = join(DIST_ROOT, "..");

/** Where the guest kernel + initramfs live: COCO_GUEST_DIR or the git-ignored `.tools/guest`. */
export function guestImageDir(): string {
  return process.env.COCO_GUEST_DIR ?? join(REPO, ".tools", "guest");
}

/** The script that builds the guest image from Debian packages and this checkout's dist/. */
export const BUILD_SCRIPT = join(REPO, "scripts", "build-guest-image");

/** The qemu binary: COCO_QEMU or `qemu-system-x86_64` on PATH; undefined when absent. */
export function findQemu(): string | undefined {
  const named = process.env.COCO_QEMU;
  if (named) return existsSync(named) ? named : undefined;
  return findOnPath("qemu-system-x86_64");
}

/** True when a Debian kernel with its modules is installed (what the image build needs). */
export function hasGuestKernel(): boolean {
  try {
    return readdirSync("/lib/modules").some((v) => existsSync(`/boot/vmlinuz-${v}`));
  } catch {
    return false;
  }
}

/**
 * Why the guest image can be neither used nor built here, or false: a built image (COCO_GUEST_DIR
 * or .tools/guest) is enough; otherwise the build script and its inputs must be present.
 */
export function guestImageMissing(): string | false {
  const dir = guestImageDir();
  if (["vmlinuz", "initrd.cpio", "guest.img"].every((f) => existsSync(join(dir, f)))) {
    if (process.env.COCO_GUEST_DIR || !existsSync(BUILD_SCRIPT)) return false;
  } else if (process.env.COCO_GUEST_DIR) {
    return `COCO_GUEST_DIR=${dir} holds no vmlinuz + initrd.cpio + guest.img (build with scripts/build-guest-image ${dir})`;
  }
  if (!existsSync(BUILD_SCRIPT))
    return `no guest image in ${dir} and no ${BUILD_SCRIPT} to build one`;
  if (!existsSync("/bin/busybox")) return "busybox-static is not installed (the guest's init)";
  if (!findOnPath("runc")) return "runc is not installed (the guest's container runtime)";
  if (!existsSync(join(REPO, "dist", "bundle", "guest-agent.cjs"))) {
    return "the guest code is not built: run npm run build";
  }
  return false;
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The KVM device the probe opens: COCO_KVM_DEVICE (a missing path simulates a host without KVM). */
export function kvmDevice(): string {
  return process.env.COCO_KVM_DEVICE || "/dev/kvm";
}

/** The vCPU model under KVM: COCO_QEMU_KVM_CPU, default `host` (TCG always uses `max`). */
export function kvmCpuModel(): string {
  const cpu = process.env.COCO_QEMU_KVM_CPU || "host";
  if (!/^[A-Za-z0-9._=,+-]+$/.test(cpu)) {
    throw new HostError("ERR_SANDBOX_START", `COCO_QEMU_KVM_CPU=${cpu} is not a qemu CPU model`);
  }
  return cpu;
}

/** The accelerator a sandbox uses, whether a user forced it, and why it was chosen. */
export interface AccelChoice {
  accel: QemuAccel;
  /** Forced by COCO_QEMU_ACCEL: no probe, and no fallback when it fails. */
  forced: boolean;
  /** For the user: what decided it. */
  why: string;
  /** The vCPU model (`max` under TCG). */
  cpu: string;
  /** The probe's cache entry when the probe chose KVM (a boot that then hangs overwrites it). */
  probe?: { cacheFile: string; key: string };
}

/**
 * Chooses the accelerator: COCO_QEMU_ACCEL=kvm|tcg when set (forced); else TCG when the KVM
 * device does not open read-write; else KVM when {@link probeKvm} saw the guest kernel boot under
 * it (cached per host), else TCG with the reason.
 */
export async function chooseAccel(qemu: string, kernel: string): Promise<AccelChoice> {
  const env = process.env.COCO_QEMU_ACCEL;
  if (env === "tcg")
    return { accel: "tcg", forced: true, why: "forced by COCO_QEMU_ACCEL=tcg", cpu: "max" };
  if (env === "kvm") {
    return {
      accel: "kvm",
      forced: true,
      why: "forced by COCO_QEMU_ACCEL=kvm (not probed; no fallback to TCG)",
      cpu: kvmCpuModel(),
    };
  }
  if (env) {
    throw new HostError(
      "ERR_SANDBOX_START",
      `COCO_QEMU_ACCEL=${env} is not an accelerator: use kvm or tcg, or unset it to probe`,
    );
  }
  const dev = kvmDevice();
  try {
    closeSync(openSync(dev, "r+"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { accel: "tcg", forced: false, why: `${dev} cannot be opened (${code})`, cpu: "max" };
  }
  const cpu = kvmCpuModel();
  const v = await probeKvm({ qemu, kernel, cpu });
  const src = v.cached
    ? `cached ${v.at.slice(0, 19)}Z in ${v.cacheFile}`
    : `probed now, cached in ${v.cacheFile}`;
  if (!v.ok) {
    return {
      accel: "tcg",
      forced: false,
      why: `KVM (-cpu ${cpu}) cannot run the guest here: ${v.detail} (${src})`,
      cpu: "max",
    };
  }
  return {
    accel: "kvm",
    forced: false,
    why: `KVM (-cpu ${cpu}) runs the guest: ${v.detail} (${src})`,
    cpu,
    probe: { cacheFile: v.cacheFile, key: v.key },
  };
}

/** Confidential VM support the host's KVM advertises (kvm_intel.tdx, kvm_amd.sev_snp). */
export function hostTeeSupport(): { tdx: boolean; snp: boolean } {
  const yes = (p: string) => {
    try {
      return /^(Y|1)/.test(readFileSync(p, "utf8").trim());
    } catch {
      return false;
    }
  };
  return {
    tdx: yes("/sys/module/kvm_intel/parameters/tdx"),
    snp: yes("/sys/module/kvm_amd/parameters/sev_snp"),
  };
}

/**
 * Builds (or confirms up to date) the guest kernel, initramfs and programs disk with
 * scripts/build-guest-image, which skips an unchanged rebuild by a stamp of its inputs. Returns
 * their paths (the kernel: the decompressed `vmlinux` when present, else `vmlinuz`).
 */
export async function ensureGuestImage(
  log?: (line: string) => void,
): Promise<{ kernel: string; initrd: string; disk: string }> {
  const dir = guestImageDir();
  const initrd = join(dir, "initrd.cpio");
  const disk = join(dir, "guest.img");
  if (existsSync(BUILD_SCRIPT) && !process.env.COCO_GUEST_DIR) {
    await new Promise<void>((resolve, reject) => {
      execFile(
        BUILD_SCRIPT,
        [dir],
        { timeout: 300_000, maxBuffer: 1 << 20 },
        (err, _stdout, stderr) => {
          for (const line of stderr.split("\n")) if (line.trim()) log?.(line);
          if (err) {
            reject(
              new HostError(
                "ERR_SANDBOX_NOT_BUILT",
                `the guest image could not be built: ${stderr.trim().split("\n").pop() ?? err.message}`,
                { cause: err },
              ),
            );
          } else resolve();
        },
      );
    });
  }
  // The decompressed kernel (PVH boot) where the build could extract it, else the bzImage.
  const kernel = existsSync(join(dir, "vmlinux")) ? join(dir, "vmlinux") : join(dir, "vmlinuz");
  for (const f of [kernel, initrd, disk]) {
    if (!existsSync(f)) {
      throw new HostError(
        "ERR_SANDBOX_NOT_BUILT",
        `${f} is missing: run scripts/build-guest-image (needs linux-image-amd64, busybox-static, runc, e2fsprogs, npm run build)`,
      );
    }
  }
  return { kernel, initrd, disk };
}
