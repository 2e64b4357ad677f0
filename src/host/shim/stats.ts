/**
 * The agent's StatsContainerResponse (cgroup stats measured in the guest) → cgroup v1 `Metrics`,
 * the type containerd's CRI decodes from a shim's Stats reply (as Kata's shim converts them,
 * `statsToMetrics`). Memory counters the guest's cgroup reports by name (`memory.stat`) fill the
 * fields of the same name; CRI's working set is `usage - total_inactive_file`.
 */
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { MetricsSchema } from "../../protocol/proto/containerd/cgroups/v1/metrics_pb.js";

/** The Any type URL of cgroup v1 metrics (what typeurl names them). */
export const METRICS_TYPE_URL = "io.containerd.cgroups.v1.Metrics";

type U64 = bigint | number | undefined;
const u = (v: unknown): bigint =>
  typeof v === "bigint" ? v : typeof v === "number" ? BigInt(v) : 0n;

/** memory.stat names carried over (the v1 field is the same name, lowerCamel in protobuf-es). */
const MEMORY_STAT_FIELDS: Record<string, string> = {
  rss: "rss",
  rss_huge: "rssHuge",
  mapped_file: "mappedFile",
  dirty: "dirty",
  writeback: "writeback",
  pgpgin: "pgPgIn",
  pgpgout: "pgPgOut",
  pgfault: "pgFault",
  pgmajfault: "pgMajFault",
  inactive_anon: "inactiveAnon",
  active_anon: "activeAnon",
  inactive_file: "inactiveFile",
  active_file: "activeFile",
  unevictable: "unevictable",
  hierarchical_memory_limit: "hierarchicalMemoryLimit",
  hierarchical_memsw_limit: "hierarchicalSwapLimit",
  total_cache: "totalCache",
  total_rss: "totalRss",
  total_rss_huge: "totalRssHuge",
  total_mapped_file: "totalMappedFile",
  total_dirty: "totalDirty",
  total_writeback: "totalWriteback",
  total_pgpgin: "totalPgPgIn",
  total_pgpgout: "totalPgPgOut",
  total_pgfault: "totalPgFault",
  total_pgmajfault: "totalPgMajFault",
  total_inactive_anon: "totalInactiveAnon",
  total_active_anon: "totalActiveAnon",
  total_inactive_file: "totalInactiveFile",
  total_active_file: "totalActiveFile",
  total_unevictable: "totalUnevictable",
};

interface MemoryData {
  usage?: U64;
  maxUsage?: U64;
  failcnt?: U64;
  limit?: U64;
}

const entry = (m: MemoryData | undefined) =>
  m
    ? { usage: u(m.usage), max: u(m.maxUsage), failcnt: u(m.failcnt), limit: u(m.limit) }
    : undefined;

/** The v1 Metrics (binary) for a decoded StatsContainerResponse. */
export function statsToMetrics(stats: Record<string, unknown>): Uint8Array {
  const cg = (stats.cgroupStats ?? {}) as {
    cpuStats?: {
      cpuUsage?: {
        totalUsage?: U64;
        percpuUsage?: U64[];
        usageInKernelmode?: U64;
        usageInUsermode?: U64;
      };
      throttlingData?: { periods?: U64; throttledPeriods?: U64; throttledTime?: U64 };
    };
    memoryStats?: {
      cache?: U64;
      usage?: MemoryData;
      swapUsage?: MemoryData;
      kernelUsage?: MemoryData;
      stats?: Record<string, U64>;
    };
    pidsStats?: { current?: U64; limit?: U64 };
    hugetlbStats?: Record<string, { usage?: U64; maxUsage?: U64; failcnt?: U64 }>;
  };
  const net = (stats.networkStats ?? []) as Record<string, unknown>[];
  const m: MessageInitShape<typeof MetricsSchema> = {};
  const cpu = cg.cpuStats;
  if (cpu) {
    m.cpu = {
      usage: {
        total: u(cpu.cpuUsage?.totalUsage),
        kernel: u(cpu.cpuUsage?.usageInKernelmode),
        user: u(cpu.cpuUsage?.usageInUsermode),
        perCpu: (cpu.cpuUsage?.percpuUsage ?? []).map(u),
      },
      throttling: {
        periods: u(cpu.throttlingData?.periods),
        throttledPeriods: u(cpu.throttlingData?.throttledPeriods),
        throttledTime: u(cpu.throttlingData?.throttledTime),
      },
    };
  }
  const mem = cg.memoryStats;
  if (mem) {
    const ms: Record<string, unknown> = {
      cache: u(mem.cache),
      usage: entry(mem.usage),
      swap: entry(mem.swapUsage),
      kernel: entry(mem.kernelUsage),
    };
    for (const [k, v] of Object.entries(mem.stats ?? {})) {
      const f = MEMORY_STAT_FIELDS[k];
      if (f) ms[f] = u(v);
    }
    m.memory = ms as MessageInitShape<typeof MetricsSchema>["memory"];
  }
  if (cg.pidsStats) m.pids = { current: u(cg.pidsStats.current), limit: u(cg.pidsStats.limit) };
  m.hugetlb = Object.entries(cg.hugetlbStats ?? {}).map(([pagesize, h]) => ({
    pagesize,
    usage: u(h.usage),
    max: u(h.maxUsage),
    failcnt: u(h.failcnt),
  }));
  m.network = net.map((n) => ({
    name: typeof n.name === "string" ? n.name : "",
    rxBytes: u(n.rxBytes),
    rxPackets: u(n.rxPackets),
    rxErrors: u(n.rxErrors),
    rxDropped: u(n.rxDropped),
    txBytes: u(n.txBytes),
    txPackets: u(n.txPackets),
    txErrors: u(n.txErrors),
    txDropped: u(n.txDropped),
  }));
  return toBinary(MetricsSchema, create(MetricsSchema, m));
}
