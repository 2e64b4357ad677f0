// run-tests: timeout 5 min (a few probe boots, each bounded by the 30 s hang budget)
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { cleanUpOnExit } from "../../../test/helpers/cleanup.js";
import { chooseAccel, findQemu, guestImageDir } from "./qemu-host.js";
import {
  kvmProbeKey,
  parseProcStatCpuMs,
  probeKvm,
  processCpuMs,
  recordKvmVerdict,
} from "./qemu-probe.js";

const work = mkdtempSync(join(tmpdir(), "coco-kvm-probe-"));
after(cleanUpOnExit(work));
const qemu = findQemu();
const kernel = join(guestImageDir(), "vmlinuz");

/** Why the real-KVM probes cannot run here, or false. */
function noKvm(): string | false {
  if (process.env.COCO_SKIP_VM_TESTS === "1") return "COCO_SKIP_VM_TESTS=1";
  if (!qemu) return "qemu-system-x86_64 is not installed";
  if (!existsSync(kernel)) return `no guest kernel at ${kernel} (scripts/build-guest-image)`;
  if (!existsSync("/dev/kvm")) return "this host has no /dev/kvm";
  return false;
}
/** PVM (kvm_pvm): a paravirtualised KVM on which a stock kernel hangs in early boot. */
const isPvm = existsSync("/sys/module/kvm_pvm");
const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
const hardwareKvm = !isPvm && /\b(vmx|svm)\b/.test(cpuinfo);

async function withEnv<T>(env: Record<string, string | undefined>, f: () => Promise<T>) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe("CPU time of a process", () => {
  test("reads utime + stime from /proc/<pid>/stat, counting fields after the name", () => {
    // Field 2 holds spaces and a ')'; utime = 150 ticks, stime = 25 ticks (USER_HZ 100).
    const line = `42 (qemu (x) y) S 1 42 42 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 5 0 100 0 0`;
    assert.equal(parseProcStatCpuMs(line), 1750);
    assert.ok((processCpuMs(process.pid) ?? -1) >= 0);
  });

  test("garbage, a truncated line and a gone process give undefined", () => {
    assert.equal(parseProcStatCpuMs("no parenthesis here"), undefined);
    assert.equal(parseProcStatCpuMs("1 (x) S 1 2"), undefined);
    assert.equal(processCpuMs(2 ** 30), undefined);
  });
});

describe("the probe's cache", () => {
  test("a recorded verdict is returned without booting, keyed by qemu, kernels and CPU", async (t) => {
    if (!qemu) return t.skip("qemu-system-x86_64 is not installed");
    const fake = join(work, "fake-kernel");
    writeFileSync(fake, "not a kernel");
    const cacheFile = join(work, "cache-a", "kvm-probe.json");
    const { key, host } = await kvmProbeKey({ qemu, kernel: fake, cpu: "host" });
    assert.equal(host.cpu, "host");
    assert.match(host.guestKernelSha256 ?? "", /^[0-9a-f]{64}$/);
    assert.notEqual(key, (await kvmProbeKey({ qemu, kernel: fake, cpu: "qemu64" })).key);
    recordKvmVerdict(cacheFile, key, { ok: true, detail: "seen", at: "2026-01-01T00:00:00Z" });
    const v = await probeKvm({ qemu, kernel: fake, cpu: "host", cacheFile });
    assert.deepEqual([v.ok, v.cached, v.detail], [true, true, "seen"]);
  });

  test("a garbled cache file is probed over and rewritten, not trusted or fatal", async (t) => {
    if (!qemu) return t.skip("qemu-system-x86_64 is not installed");
    const fake = join(work, "fake-kernel-2");
    writeFileSync(fake, "not a kernel either");
    const cacheFile = join(work, "cache-b.json");
    writeFileSync(cacheFile, '{"version":1,"entries":{"x":');
    // qemu refuses the file as a kernel (or KVM is absent): either way no guest runs.
    const v = await probeKvm({ qemu, kernel: fake, cpu: "host", cacheFile });
    assert.equal(v.ok, false);
    assert.equal(v.cached, false);
    assert.match(v.detail, /qemu exited/);
    const stored = JSON.parse(readFileSync(cacheFile, "utf8"));
    assert.equal(stored.entries[v.key].ok, false);
  });
});

describe("probing KVM with the real guest kernel", () => {
  test("a KVM that accepts the VM but whose guest hangs is a no (PVM, -cpu qemu64)", async (t) => {
    const why = noKvm() || (!isPvm && "the hang is reproduced on PVM hosts (kvm_pvm) only");
    if (why) return t.skip(why);
    const v = await probeKvm({
      qemu: qemu!,
      kernel,
      cpu: "qemu64",
      cacheFile: join(work, "pvm.json"),
      refresh: true,
    });
    assert.equal(v.ok, false);
    assert.match(v.detail, /the guest hung under KVM: no kernel banner after/);
  });

  test("the default CPU model's verdict matches the kind of host", async (t) => {
    const why =
      noKvm() ||
      (!isPvm && !hardwareKvm && "neither PVM nor hardware virtualisation (vmx/svm) here");
    if (why) return t.skip(why);
    const v = await probeKvm({
      qemu: qemu!,
      kernel,
      cpu: "host",
      cacheFile: join(work, "host.json"),
      refresh: true,
    });
    t.diagnostic(`verdict: ${v.ok} (${v.detail})`);
    if (isPvm) {
      // PVM runs only PVM-built guest kernels: qemu aborts on an MSR or the guest hangs.
      assert.equal(v.ok, false);
      assert.match(v.detail, /failed to set MSR|the guest hung/);
    } else {
      assert.equal(v.ok, true);
      assert.match(v.detail, /printed "Linux version /);
    }
  });
});

describe("choosing the accelerator", () => {
  test("a host without a KVM device runs TCG and says why", async (t) => {
    if (!qemu) return t.skip("qemu-system-x86_64 is not installed");
    const c = await withEnv(
      { COCO_KVM_DEVICE: join(work, "no-kvm"), COCO_QEMU_ACCEL: undefined },
      () => chooseAccel(qemu, kernel),
    );
    assert.deepEqual([c.accel, c.forced, c.cpu], ["tcg", false, "max"]);
    assert.match(c.why, /no-kvm cannot be opened \(ENOENT\)/);
  });

  test("COCO_QEMU_ACCEL forces either accelerator without probing; anything else is refused", async () => {
    const q = "/nonexistent/qemu";
    const k = "/nonexistent/vmlinuz";
    const tcg = await withEnv({ COCO_QEMU_ACCEL: "tcg" }, () => chooseAccel(q, k));
    assert.deepEqual([tcg.accel, tcg.forced], ["tcg", true]);
    const kvm = await withEnv({ COCO_QEMU_ACCEL: "kvm", COCO_QEMU_KVM_CPU: "qemu64" }, () =>
      chooseAccel(q, k),
    );
    assert.deepEqual([kvm.accel, kvm.forced, kvm.cpu], ["kvm", true, "qemu64"]);
    assert.match(kvm.why, /no fallback/);
    await assert.rejects(
      withEnv({ COCO_QEMU_ACCEL: "hvf" }, () => chooseAccel(q, k)),
      (e: { code?: string; message?: string }) =>
        e.code === "ERR_SANDBOX_START" && /use kvm or tcg/.test(e.message ?? ""),
    );
    await assert.rejects(
      withEnv({ COCO_QEMU_ACCEL: "kvm", COCO_QEMU_KVM_CPU: "host -S" }, () => chooseAccel(q, k)),
      (e: { code?: string }) => e.code === "ERR_SANDBOX_START",
    );
  });

  test("a KVM whose guest hangs is refused by the probe, and TCG is chosen with the reason", async (t) => {
    const why = noKvm() || (!isPvm && "the hang is reproduced on PVM hosts (kvm_pvm) only");
    if (why) return t.skip(why);
    const c = await withEnv(
      {
        XDG_CACHE_HOME: join(work, "xdg"),
        COCO_QEMU_KVM_CPU: "qemu64",
        COCO_QEMU_ACCEL: undefined,
        COCO_KVM_DEVICE: undefined,
      },
      () => chooseAccel(qemu!, kernel),
    );
    assert.deepEqual([c.accel, c.forced], ["tcg", false]);
    assert.match(c.why, /KVM \(-cpu qemu64\) cannot run the guest here: the guest hung/);
    assert.match(c.why, /probed now, cached in .*xdg\/coco-ts\/kvm-probe\.json/);
  });
});
