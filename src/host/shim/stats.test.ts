import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { decodeAgentMessage, encodeAgentMessage } from "../../protocol/agent/index.js";
import { MetricsSchema } from "../../protocol/proto/containerd/cgroups/v1/metrics_pb.js";
import { statsToMetrics } from "./stats.js";

test("the agent's cgroup stats become containerd's cgroup v1 metrics", () => {
  // As the agent sends them (decoded from the wire, 64-bit fields as bigint).
  const stats = decodeAgentMessage(
    "StatsContainerResponse",
    encodeAgentMessage("StatsContainerResponse", {
      cgroupStats: {
        cpuStats: {
          cpuUsage: {
            totalUsage: 5000n,
            percpuUsage: [3000n, 2000n],
            usageInKernelmode: 1000n,
            usageInUsermode: 4000n,
          },
          throttlingData: { periods: 7n, throttledPeriods: 2n, throttledTime: 99n },
        },
        memoryStats: {
          cache: 10n,
          usage: { usage: 4096n, maxUsage: 8192n, failcnt: 1n, limit: 67108864n },
          stats: { total_inactive_file: 1024n, rss: 2048n, not_a_field: 5n },
        },
        pidsStats: { current: 3n, limit: 100n },
        hugetlbStats: { "2MB": { usage: 1n, maxUsage: 2n, failcnt: 0n } },
      },
      networkStats: [{ name: "eth0", rxBytes: 11n, txBytes: 22n }],
    }),
  );
  const m = fromBinary(MetricsSchema, statsToMetrics(stats));
  assert.equal(m.cpu?.usage?.total, 5000n);
  assert.deepEqual(m.cpu?.usage?.perCpu, [3000n, 2000n]);
  assert.equal(m.cpu?.usage?.kernel, 1000n);
  assert.equal(m.cpu?.throttling?.throttledTime, 99n);
  assert.equal(m.memory?.usage?.usage, 4096n);
  assert.equal(m.memory?.usage?.max, 8192n);
  assert.equal(m.memory?.usage?.limit, 67108864n);
  assert.equal(
    m.memory?.totalInactiveFile,
    1024n,
    "CRI's working set = usage - total_inactive_file",
  );
  assert.equal(m.memory?.rss, 2048n);
  assert.equal(m.pids?.current, 3n);
  assert.deepEqual(
    m.hugetlb.map((h) => [h.pagesize, h.usage, h.max]),
    [["2MB", 1n, 2n]],
  );
  assert.equal(m.network[0]?.txBytes, 22n);
});

test("empty stats give empty metrics, not an error", () => {
  const m = fromBinary(MetricsSchema, statsToMetrics({}));
  assert.equal(m.cpu, undefined);
  assert.equal(m.memory, undefined);
});
