import { execFile, spawn } from "node:child_process";
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
import { fileURLToPath } from "node:url";
import { HostError } from "../errors.js";
import type { QemuAccel } from "./qemu-args.js";

// dist/src/host/sandbox/ → the checkout (where scripts/build-guest-image lives).
const REPO = fileURLToPath(new URL("../../../../", import.meta.url));

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
  if (existsSync(join(dir, "vmlinuz")) && existsSync(join(dir, "initrd.cpio"))) {
    if (process.env.COCO_GUEST_DIR || !existsSync(BUILD_SCRIPT)) return false;
  } else if (process.env.COCO_GUEST_DIR) {
    return `COCO_GUEST_DIR=${dir} holds no vmlinuz + initrd.cpio (build with scripts/build-guest-image ${dir})`;
  }
  if (!existsSync(BUILD_SCRIPT))
    return `no guest image in ${dir} and no ${BUILD_SCRIPT} to build one`;
  if (!existsSync("/bin/busybox")) return "busybox-static is not installed (the guest's init)";
  if (!findOnPath("runc")) return "runc is not installed (the guest's container runtime)";
  if (!existsSync(join(REPO, "dist", "src", "guest", "agent", "serial-listener.js"))) {
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

/**
 * The accelerator to try first: COCO_QEMU_ACCEL (kvm|tcg) when set, else KVM when /dev/kvm opens
 * read-write, else TCG. KVM that opens but cannot run a guest is caught at start (see qemu.ts).
 */
export function preferredAccel(): { accel: QemuAccel; forced: boolean; why: string } {
  const env = process.env.COCO_QEMU_ACCEL;
  if (env === "kvm" || env === "tcg") return { accel: env, forced: true, why: "COCO_QEMU_ACCEL" };
  try {
    closeSync(openSync("/dev/kvm", "r+"));
    return { accel: "kvm", forced: false, why: "/dev/kvm opens" };
  } catch (err) {
    return { accel: "tcg", forced: false, why: `/dev/kvm: ${(err as NodeJS.ErrnoException).code}` };
  }
}

let kvmProbe: Promise<string | false> | undefined;

/**
 * Whether qemu can really run a KVM vCPU here: /dev/kvm may open on a nested host whose KVM then
 * rejects the vCPU's MSRs (qemu aborts with "failed to set MSR"). A paused VM (-S) is started; if
 * it is still alive after 1.5 s, KVM works. Returns the failure reason, or false. Cached.
 */
export function probeKvm(qemu: string): Promise<string | false> {
  kvmProbe ??= new Promise((resolve) => {
    const child = spawn(
      qemu,
      ["-machine", "q35,accel=kvm", "-cpu", "host", "-nodefaults", "-no-user-config"].concat([
        "-display",
        "none",
        "-monitor",
        "none",
        "-S",
      ]),
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let err = "";
    child.stderr.on("data", (c: Buffer) => {
      if (err.length < 4096) err += c.toString("utf8");
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve(false);
    }, 1500);
    child.once("error", (e) => {
      clearTimeout(timer);
      resolve(e.message);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(err.trim().split("\n")[0] || `qemu exited (${code ?? signal}) with accel=kvm`);
    });
  });
  return kvmProbe;
}

/**
 * The accelerator a sandbox uses: TCG when forced or /dev/kvm does not open, KVM when it opens
 * and {@link probeKvm} runs a vCPU, else TCG with the reason KVM was refused.
 */
export async function chooseAccel(qemu: string): Promise<{ accel: QemuAccel; why: string }> {
  const pref = preferredAccel();
  if (pref.accel === "tcg" || pref.forced) return { accel: pref.accel, why: pref.why };
  const broken = await probeKvm(qemu);
  if (broken) return { accel: "tcg", why: `KVM is unusable here: ${broken}` };
  return { accel: "kvm", why: "KVM runs a vCPU" };
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
 * Builds (or confirms up to date) the guest kernel + initramfs with scripts/build-guest-image,
 * which skips an unchanged rebuild by a stamp of its inputs. Returns the two paths.
 */
export async function ensureGuestImage(
  log?: (line: string) => void,
): Promise<{ kernel: string; initrd: string }> {
  const dir = guestImageDir();
  const kernel = join(dir, "vmlinuz");
  const initrd = join(dir, "initrd.cpio");
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
  for (const f of [kernel, initrd]) {
    if (!existsSync(f)) {
      throw new HostError(
        "ERR_SANDBOX_NOT_BUILT",
        `${f} is missing: run scripts/build-guest-image (needs linux-image-amd64, busybox-static, runc, npm run build)`,
      );
    }
  }
  return { kernel, initrd };
}
