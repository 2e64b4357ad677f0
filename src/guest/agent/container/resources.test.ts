import assert from "node:assert/strict";
import { test } from "node:test";
import { toRuncResources, toRuntimeResources } from "./resources.js";

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test("carries kubelet's CPU and memory limits into runtime-spec linux.resources", () => {
  assert.deepEqual(
    toRuntimeResources({
      Devices: [],
      HugepageLimits: [],
      Memory: { Limit: 64n << 20n, Swap: 64n << 20n, Reservation: 0n },
      CPU: { Shares: 256n, Quota: 50_000n, Period: 100_000n, Cpus: "", Mems: "" },
    }),
    {
      memory: { limit: 64 << 20, swap: 64 << 20 },
      cpu: { shares: 256, quota: 50_000, period: 100_000 },
    },
  );
  assert.deepEqual(toRuntimeResources({ Pids: { Limit: 10n }, CPU: { Cpus: "0" } }), {
    cpu: { cpus: "0" },
    pids: { limit: 10 },
  });
  assert.equal(toRuntimeResources(undefined), undefined);
  assert.equal(toRuntimeResources({ Devices: [], HugepageLimits: [] }), undefined);
  assert.equal(toRuntimeResources({ Memory: { Limit: -1n } })?.memory?.limit, -1, "unlimited");
});

test("refuses device rules and limits runc would not apply faithfully", () => {
  for (const res of [
    { Devices: [{ Allow: true }] },
    { BlockIO: { Weight: 10 } },
    { HugepageLimits: [{ Pagesize: "2MB", Limit: 1n }] },
    { Network: { ClassID: 1 } },
    { Memory: { Kernel: 1n } },
    { Memory: { KernelTCP: 1n } },
    { Memory: { Swappiness: 10n } },
    { Memory: { DisableOOMKiller: true } },
    { CPU: { RealtimeRuntime: 1n } },
    { CPU: { RealtimePeriod: 1n } },
    { Memory: { Limit: -2n } },
    { CPU: { Quota: -5n } },
    { Pids: { Limit: -3n } },
  ]) {
    assert.throws(
      () => toRuntimeResources(res),
      code("ERR_AGENT_SPEC"),
      JSON.stringify(res, (_k, v) => (typeof v === "bigint" ? Number(v) : v)),
    );
  }
  assert.throws(() => toRuncResources(undefined), code("ERR_AGENT_SPEC"));
  assert.equal(toRuncResources({ Memory: { Limit: 1024n } }), '{"memory":{"limit":1024}}');
});
