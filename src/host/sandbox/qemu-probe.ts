import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir, release } from "node:os";
import { dirname, join } from "node:path";

/** What one KVM probe found: whether a guest ran, and what was seen. */
export interface KvmVerdict {
  ok: boolean;
  /** What was seen, for the user: the first kernel line and when, or why KVM failed. */
  detail: string;
  /** When the verdict was reached (ISO 8601). */
  at: string;
}

/** A verdict with where it came from. */
export interface KvmProbeResult extends KvmVerdict {
  /** True when read from the on-disk cache instead of booting. */
  cached: boolean;
  /** The cache file and the entry's key (so a failed boot can overwrite it). */
  cacheFile: string;
  key: string;
}

/** What a probe boots, and how long it waits. */
export interface KvmProbeOptions {
  qemu: string;
  /** The guest kernel (bzImage) the sandbox boots. */
  kernel: string;
  /** The vCPU model under KVM (`host` unless COCO_QEMU_KVM_CPU says otherwise). */
  cpu: string;
  /** Default: {@link kvmProbeCachePath}. */
  cacheFile?: string;
  /** Ignore a cached verdict and probe again. */
  refresh?: boolean;
  /** See {@link HangBudget}. */
  budget?: HangBudget;
}

/**
 * When a guest that has printed nothing is called hung: after it used `cpuMs` of CPU (a working
 * KVM guest prints its banner within milliseconds of CPU; on a busy host it may wait long for
 * the CPU, so CPU time, not wall time, is the measure) or after `wallMs` in any case.
 */
export interface HangBudget {
  cpuMs: number;
  wallMs: number;
}

/** The default {@link HangBudget}: 2 s of qemu CPU or 30 s of wall time. */
export const DEFAULT_HANG_BUDGET: HangBudget = { cpuMs: 2000, wallMs: 30_000 };

/** The Linux kernel's first printk line (init/version.c `linux_banner`). */
export const KERNEL_BANNER = /Linux version \d/;

/** The kernel command line of the probe: the banner on the first serial port, as early as can be. */
export const PROBE_APPEND = "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 loglevel=7";

/** `$XDG_CACHE_HOME/coco-ts/kvm-probe.json` (default `~/.cache`): verdicts for this host. */
export function kvmProbeCachePath(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "coco-ts", "kvm-probe.json");
}

/** The qemu argv that boots `kernel` under KVM with no disk, initramfs or network. */
export function probeArgs(kernel: string, cpu: string): string[] {
  return [
    "-machine",
    "q35,accel=kvm",
    "-cpu",
    cpu,
    "-m",
    "256",
    "-smp",
    "1",
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-monitor",
    "none",
    "-serial",
    "stdio",
    "-no-reboot",
    "-kernel",
    kernel,
    "-append",
    PROBE_APPEND,
  ];
}

/** CPU time (user + system, all threads) a live process has used, ms; undefined when gone. */
export function processCpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return parseProcStatCpuMs(stat);
}

/**
 * utime + stime from a `/proc/<pid>/stat` line, ms (proc(5): fields 14 and 15 in clock ticks,
 * USER_HZ = 100 on Linux). The command name (field 2) may hold spaces and parentheses, so
 * fields are counted from its last `)`.
 */
export function parseProcStatCpuMs(stat: string): number | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const rest = stat.slice(close + 2).split(" ");
  // rest[0] is field 3 (state): utime is field 14 → rest[11], stime field 15 → rest[12].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) * 10;
}

/**
 * A watch over a booting VM that has not printed its banner: `check()` returns why it is called
 * hung once the {@link HangBudget} is spent, else false.
 */
export function createHangWatch(pid: number, budget: HangBudget = DEFAULT_HANG_BUDGET) {
  const t0 = performance.now();
  const cpu0 = processCpuMs(pid) ?? 0;
  return {
    check(): string | false {
      const wall = performance.now() - t0;
      const cpu = (processCpuMs(pid) ?? cpu0) - cpu0;
      if (cpu >= budget.cpuMs || wall >= budget.wallMs) {
        return `no kernel banner after ${(wall / 1000).toFixed(1)} s (qemu used ${(cpu / 1000).toFixed(1)} s of CPU)`;
      }
      return false;
    },
  };
}

interface CacheFile {
  version: 1;
  entries: Record<string, KvmVerdict & { host: Record<string, string> }>;
}

function readCache(path: string): CacheFile {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as CacheFile;
    if (parsed?.version === 1 && typeof parsed.entries === "object" && parsed.entries) {
      return parsed;
    }
  } catch {
    // absent or unreadable: probe again
  }
  return { version: 1, entries: {} };
}

/** Stores a verdict under `key` (atomically: a temp file renamed over the cache). */
export function recordKvmVerdict(
  cacheFile: string,
  key: string,
  verdict: KvmVerdict,
  host: Record<string, string> = {},
): void {
  const cache = readCache(cacheFile);
  cache.entries[key] = { ...verdict, host };
  // Bounded: the oldest entries go first (one per host kernel × qemu × guest kernel × cpu).
  const keys = Object.keys(cache.entries);
  for (const k of keys.slice(0, Math.max(0, keys.length - 32))) delete cache.entries[k];
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(cache, null, 2)}\n`, { mode: 0o644 });
    renameSync(tmp, cacheFile);
  } catch {
    // A read-only home only costs a probe per process.
  }
}

const qemuVersions = new Map<string, Promise<string>>();
function qemuVersion(qemu: string): Promise<string> {
  let v = qemuVersions.get(qemu);
  if (!v) {
    v = new Promise((resolve) => {
      execFile(qemu, ["--version"], { timeout: 30_000 }, (err, stdout) => {
        resolve(err ? `unknown (${err.message})` : (stdout.split("\n")[0] ?? "").trim());
      });
    });
    qemuVersions.set(qemu, v);
  }
  return v;
}

const kernelDigests = new Map<string, string>();
function kernelDigest(kernel: string): string {
  const st = statSync(kernel);
  const id = `${kernel}:${st.size}:${st.mtimeMs}`;
  let d = kernelDigests.get(id);
  if (!d) {
    d = createHash("sha256").update(readFileSync(kernel)).digest("hex");
    kernelDigests.set(id, d);
  }
  return d;
}

/** What identifies a verdict: host kernel, qemu version, guest kernel digest and CPU model. */
export async function kvmProbeKey(
  o: Pick<KvmProbeOptions, "qemu" | "kernel" | "cpu">,
): Promise<{ key: string; host: Record<string, string> }> {
  const host = {
    hostKernel: release(),
    qemu: await qemuVersion(o.qemu),
    guestKernelSha256: kernelDigest(o.kernel),
    cpu: o.cpu,
  };
  const key = createHash("sha256").update(JSON.stringify(host)).digest("hex").slice(0, 32);
  return { key, host };
}

const inflight = new Map<string, Promise<KvmProbeResult>>();

/**
 * Whether KVM runs a guest here: boots the guest kernel under KVM with its banner going to the
 * serial port and requires the banner (`Linux version …`) before the {@link HangBudget} is
 * spent. qemu refusing the vCPU (a nested KVM rejecting an MSR), exiting, or a guest that spins
 * without printing are all "no", with what was seen. The verdict is cached on disk per host
 * kernel, qemu version, guest kernel digest and CPU model.
 */
export async function probeKvm(o: KvmProbeOptions): Promise<KvmProbeResult> {
  const cacheFile = o.cacheFile ?? kvmProbeCachePath();
  const { key, host } = await kvmProbeKey(o);
  if (!o.refresh) {
    const hit = readCache(cacheFile).entries[key];
    if (hit && typeof hit.ok === "boolean") {
      return { ok: hit.ok, detail: hit.detail, at: hit.at, cached: true, cacheFile, key };
    }
  }
  const memo = `${cacheFile}\0${key}`;
  let p = inflight.get(memo);
  if (!p || o.refresh) {
    p = bootProbe(o).then((v) => {
      recordKvmVerdict(cacheFile, key, v, host);
      return { ...v, cached: false, cacheFile, key };
    });
    inflight.set(memo, p);
    p.finally(() => inflight.delete(memo)).catch(() => {});
  }
  return p;
}

function bootProbe(o: KvmProbeOptions): Promise<KvmVerdict> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(o.qemu, probeArgs(o.kernel, o.cpu), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let done = false;
    const finish = (ok: boolean, detail: string) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      resolve({ ok, detail, at: new Date().toISOString() });
    };
    const lastLine = () =>
      out
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean)
        .pop();
    child.stdout.on("data", (c: Buffer) => {
      if (out.length < 65536) out += c.toString("latin1");
      const m = /Linux version \S+/.exec(out);
      if (m) {
        const s = ((performance.now() - t0) / 1000).toFixed(2);
        finish(true, `the guest kernel printed "${m[0]}" ${s} s after qemu started`);
      }
    });
    child.stderr.on("data", (c: Buffer) => {
      if (err.length < 8192) err += c.toString("utf8");
    });
    const watch = child.pid !== undefined ? createHangWatch(child.pid, o.budget) : undefined;
    const timer = setInterval(() => {
      const hung = watch?.check();
      if (hung) {
        const seen = lastLine();
        finish(
          false,
          `the guest hung under KVM: ${hung}; ${seen ? `its last line was "${seen}"` : "it printed nothing"}`,
        );
      }
    }, 100);
    child.once("error", (e) => finish(false, `qemu could not be started: ${e.message}`));
    child.once("close", (code, signal) => {
      // A qemu abort ("failed to set MSR 0x10a …") says more than any guest line.
      const why =
        err
          .split("\n")
          .map((l) => l.trim())
          .find((l) => l && !/^qemu-system-\S+: warning:/.test(l)) ?? "";
      finish(
        false,
        `qemu exited (${code ?? signal}) before the guest kernel printed its banner${why ? `: ${why.replace(/^qemu-system-\S+: /, "")}` : ""}`,
      );
    });
  });
}
