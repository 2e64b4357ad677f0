// run-tests: timeout 15 min (one TCG boot, limit 400 s, and two KVM boots bounded by the hang budget)
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cleanUpOnExit, processesNaming } from "../../../test/helpers/cleanup.js";
import { newId } from "../runtime/requests.js";
import { createQemuSandboxBackend, type QemuSandbox } from "./qemu.js";
import { ensureGuestImage, findQemu } from "./qemu-host.js";
import { kvmProbeKey, probeKvm, recordKvmVerdict } from "./qemu-probe.js";

// The KVM paths a user meets on a host whose KVM accepts a VM but cannot run a stock guest
// (PVM): reproduced with real qemu on real PVM by asking for `-cpu qemu64`, under which the
// guest kernel spins after "Probing EDD" and never prints its banner.
const work = mkdtempSync(join(tmpdir(), "coco-qemu-fallback-"));
const cleanUp = cleanUpOnExit(work);
after(cleanUp);
const isPvm = existsSync("/sys/module/kvm_pvm");
let skip: string | false = false;
let kernel = "";

before(async () => {
  if (process.env.COCO_SKIP_VM_TESTS === "1") skip = "COCO_SKIP_VM_TESTS=1";
  else if (!existsSync("/dev/kvm")) skip = "this host has no /dev/kvm";
  else skip = await createQemuSandboxBackend().unavailable();
  if (!skip) kernel = (await ensureGuestImage()).kernel;
});

/** Runs `f` with these variables set (undefined: unset), restoring them after. */
async function withEnv<T>(env: Record<string, string | undefined>, f: () => Promise<T>) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const set = (e: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(e)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(env);
  try {
    return await f();
  } finally {
    set(saved);
  }
}

describe("KVM that accepts the VM but does not run the guest", () => {
  test("a boot under probe-chosen KVM whose guest prints nothing falls back to TCG and is remembered", {
    timeout: 600_000,
  }, async (t) => {
    if (skip) return t.skip(skip);
    if (!isPvm) return t.skip("the hang is reproduced on PVM hosts (kvm_pvm) only");
    // A probe verdict that says yes (as a stale cache entry, or a probe that passed where the
    // full boot then hangs): the boot itself must notice and fall back.
    const xdg = join(work, "xdg-a");
    const cacheFile = join(xdg, "coco-ts", "kvm-probe.json");
    const { key } = await kvmProbeKey({ qemu: findQemu()!, kernel, cpu: "qemu64" });
    recordKvmVerdict(cacheFile, key, { ok: true, detail: "stale", at: new Date().toISOString() });
    const lines: string[] = [];
    const stateDir = join(work, "a");
    const sb = (await withEnv(
      {
        XDG_CACHE_HOME: xdg,
        COCO_QEMU_KVM_CPU: "qemu64",
        COCO_QEMU_ACCEL: undefined,
        COCO_KVM_DEVICE: undefined,
      },
      () =>
        createQemuSandboxBackend().start({
          id: newId(),
          stateDir,
          signal: t.signal,
          onLog: (l) => lines.push(l),
        }),
    )) as QemuSandbox;
    try {
      t.diagnostic(lines.filter((l) => /accelerator|KVM|ready/.test(l)).join("\n"));
      assert.equal(sb.accel, "tcg");
      assert.ok(
        lines.some((l) => /^accelerator: kvm \(KVM \(-cpu qemu64\) runs the guest: stale/.test(l)),
      );
      assert.ok(
        lines.some((l) =>
          /^KVM \(-cpu qemu64\) did not run the guest: no kernel banner after .*; falling back to TCG/.test(
            l,
          ),
        ),
      );
      // The console of the boot that won shows the kernel's progress.
      assert.match(readFileSync(join(stateDir, "console.log"), "utf8"), /Linux version /);
      // The next start on this host does not try KVM again.
      const again = await probeKvm({ qemu: findQemu()!, kernel, cpu: "qemu64", cacheFile });
      assert.deepEqual([again.ok, again.cached], [false, true]);
      assert.match(again.detail, /a sandbox boot: no kernel banner/);
    } finally {
      await sb.stop();
    }
    assert.deepEqual(processesNaming(stateDir), []);
  });

  test("forced KVM whose guest hangs never falls back and fails with an error a user can act on", {
    timeout: 120_000,
  }, async (t) => {
    if (skip) return t.skip(skip);
    if (!isPvm) return t.skip("the hang is reproduced on PVM hosts (kvm_pvm) only");
    const stateDir = join(work, "b");
    const lines: string[] = [];
    await withEnv({ COCO_QEMU_ACCEL: "kvm", COCO_QEMU_KVM_CPU: "qemu64" }, () =>
      assert.rejects(
        createQemuSandboxBackend().start({
          id: newId(),
          stateDir,
          signal: t.signal,
          onLog: (l) => lines.push(l),
        }),
        (e: { code?: string; message?: string }) => {
          t.diagnostic(e.message ?? "");
          assert.equal(e.code, "ERR_SANDBOX_START");
          const m = e.message ?? "";
          assert.match(m, /^the guest kernel did not run under KVM \(no kernel banner after /);
          assert.match(m, /accelerator kvm: forced by COCO_QEMU_ACCEL=kvm/);
          assert.ok(m.includes(`console ${join(stateDir, "console.log")}: `));
          // The real-mode setup code printed before the kernel proper hung.
          assert.match(m, /Probing EDD|the guest printed nothing/);
          assert.ok(m.includes(`qemu log ${join(stateDir, "qemu.log")}`));
          assert.match(m, /set COCO_QEMU_ACCEL=tcg to boot under TCG/);
          return true;
        },
      ),
    );
    assert.ok(!lines.some((l) => /falling back/.test(l)), "forced KVM fell back");
    assert.deepEqual(processesNaming(stateDir), [], "the hung qemu was left running");
  });

  test("forced KVM where the probe refuses the default CPU fails with qemu's own reason", {
    timeout: 120_000,
  }, async (t) => {
    if (skip) return t.skip(skip);
    const v = await probeKvm({
      qemu: findQemu()!,
      kernel,
      cpu: "host",
      cacheFile: join(work, "probe-c.json"),
    });
    if (v.ok) return t.skip(`KVM runs the guest on this host (${v.detail})`);
    const stateDir = join(work, "c");
    await withEnv({ COCO_QEMU_ACCEL: "kvm", COCO_QEMU_KVM_CPU: undefined }, () =>
      assert.rejects(
        createQemuSandboxBackend().start({ id: newId(), stateDir, signal: t.signal }),
        (e: { code?: string; message?: string }) => {
          t.diagnostic(e.message ?? "");
          assert.equal(e.code, "ERR_SANDBOX_START");
          assert.match(e.message ?? "", /did not run under KVM \((qemu exited|no kernel banner)/);
          assert.match(e.message ?? "", /COCO_QEMU_ACCEL=tcg/);
          if (/failed to set MSR/.test(v.detail)) {
            assert.match(e.message ?? "", /failed to set MSR/);
          }
          return true;
        },
      ),
    );
    assert.deepEqual(processesNaming(stateDir), []);
  });
});
