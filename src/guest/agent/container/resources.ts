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

/** The agent API's LinuxResources as `runc update -r` JSON (memory, CPU, pids; devices refused). */
export function toRuncResources(res: Record<string, unknown> | undefined): string {
  if (!res) throw new AgentError("ERR_AGENT_SPEC", "UpdateContainer carries no resources");
  if (Array.isArray(res.Devices) && res.Devices.length > 0) {
    throw new AgentError("ERR_AGENT_SPEC", "device cgroup changes are refused");
  }
  const num = (v: unknown) => (typeof v === "bigint" ? Number(v) : (v as number | undefined));
  const m = res.Memory as Record<string, unknown> | undefined;
  const c = res.CPU as Record<string, unknown> | undefined;
  const p = res.Pids as Record<string, unknown> | undefined;
  const out: Record<string, unknown> = {};
  if (m) out.memory = { limit: num(m.Limit), reservation: num(m.Reservation), swap: num(m.Swap) };
  if (c)
    out.cpu = {
      shares: num(c.Shares),
      quota: num(c.Quota),
      period: num(c.Period),
      cpus: c.Cpus,
      mems: c.Mems,
    };
  if (p) out.pids = { limit: num(p.Limit) };
  return JSON.stringify(out, (_k, v) => (v === 0 || v === "" ? undefined : v));
}
