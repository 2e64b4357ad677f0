import { AgentError } from "../errors.js";
import type { RuncStats } from "./runc.js";

function big(n: number | undefined): bigint {
  return BigInt(Math.max(0, Math.trunc(n ?? 0)));
}

/** runc's cgroup statistics in the agent API's StatsContainerResponse shape. */
export function toStatsResponse(st: RuncStats): object {
  const mem = (d?: { limit?: number; usage?: number; max?: number; failcnt?: number }) =>
    d
      ? {
          usage: big(d.usage),
          maxUsage: big(d.max),
          failcnt: big(d.failcnt),
          limit: big(d.limit),
        }
      : undefined;
  return {
    cgroupStats: {
      cpuStats: {
        cpuUsage: {
          totalUsage: big(st.cpu?.usage?.total),
          percpuUsage: (st.cpu?.usage?.percpu ?? []).map(big),
          usageInKernelmode: big(st.cpu?.usage?.kernel),
          usageInUsermode: big(st.cpu?.usage?.user),
        },
        throttlingData: {
          periods: big(st.cpu?.throttling?.periods),
          throttledPeriods: big(st.cpu?.throttling?.throttledPeriods),
          throttledTime: big(st.cpu?.throttling?.throttledTime),
        },
      },
      memoryStats: {
        cache: big(st.memory?.cache),
        usage: mem(st.memory?.usage),
        swapUsage: mem(st.memory?.swap),
        kernelUsage: mem(st.memory?.kernel),
        stats: Object.fromEntries(
          Object.entries(st.memory?.raw ?? {}).map(([k, v]) => [k, big(v)]),
        ),
      },
      pidsStats: { current: big(st.pids?.current), limit: big(st.pids?.limit) },
    },
    networkStats: [],
  };
}

/** The cgroup limits runc applies (runtime-spec `linux.resources`, the parts the agent honours). */
export interface RuntimeResources {
  memory?: { limit?: number; reservation?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : undefined;
  return n === undefined || n === 0 ? undefined : n;
};

const present = (v: unknown): boolean =>
  v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);

/**
 * The agent API's LinuxResources as runtime-spec `linux.resources`: memory limit/reservation/swap,
 * CPU shares/quota/period/cpuset and a pids limit are applied. Device cgroup rules are refused
 * (they would open guest devices to the container), and so is everything runc would not apply
 * faithfully on every cgroup version (block I/O, hugepages, network classes, realtime CPU, kernel
 * memory, swappiness, OOM-killer switch): a limit is honoured or refused, never dropped.
 * Zero means unset (protobuf cannot tell them apart); `undefined` when nothing is set.
 */
export function toRuntimeResources(
  res: Record<string, unknown> | undefined,
): RuntimeResources | undefined {
  if (!res) return undefined;
  if (present(res.Devices))
    throw new AgentError("ERR_AGENT_SPEC", "device cgroup changes are refused");
  for (const k of ["BlockIO", "HugepageLimits", "Network"]) {
    if (present(res[k]))
      throw new AgentError("ERR_AGENT_SPEC", `Linux.Resources.${k} is not supported`);
  }
  const m = res.Memory as Record<string, unknown> | undefined;
  const c = res.CPU as Record<string, unknown> | undefined;
  const p = res.Pids as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries({
    "Memory.Kernel": m?.Kernel,
    "Memory.KernelTCP": m?.KernelTCP,
    "Memory.Swappiness": m?.Swappiness,
    "Memory.DisableOOMKiller": m?.DisableOOMKiller === true ? 1 : 0,
    "CPU.RealtimeRuntime": c?.RealtimeRuntime,
    "CPU.RealtimePeriod": c?.RealtimePeriod,
  })) {
    if (num(v) !== undefined)
      throw new AgentError("ERR_AGENT_SPEC", `Linux.Resources.${k} is not supported`);
  }
  for (const [k, v] of Object.entries({
    "Memory.Limit": m?.Limit,
    "Memory.Swap": m?.Swap,
    "Memory.Reservation": m?.Reservation,
    "CPU.Quota": c?.Quota,
    "Pids.Limit": p?.Limit,
  })) {
    // -1 is "unlimited" in the runtime spec; anything else below zero is nonsense.
    const n = num(v);
    if (n !== undefined && n < -1)
      throw new AgentError("ERR_AGENT_SPEC", `Linux.Resources.${k} is negative`);
  }
  const out: RuntimeResources = {};
  const memory = { limit: num(m?.Limit), reservation: num(m?.Reservation), swap: num(m?.Swap) };
  if (Object.values(memory).some((v) => v !== undefined)) out.memory = strip(memory);
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const cpu = {
    shares: num(c?.Shares),
    quota: num(c?.Quota),
    period: num(c?.Period),
    cpus: str(c?.Cpus),
    mems: str(c?.Mems),
  };
  if (Object.values(cpu).some((v) => v !== undefined)) out.cpu = strip(cpu);
  const pids = num(p?.Limit);
  if (pids !== undefined) out.pids = { limit: pids };
  return Object.keys(out).length > 0 ? out : undefined;
}

function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The agent API's LinuxResources as `runc update -r` JSON (memory, CPU, pids; devices refused). */
export function toRuncResources(res: Record<string, unknown> | undefined): string {
  if (!res) throw new AgentError("ERR_AGENT_SPEC", "UpdateContainer carries no resources");
  return JSON.stringify(toRuntimeResources(res) ?? {});
}
