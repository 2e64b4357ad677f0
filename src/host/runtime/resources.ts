import type { LinuxResources } from "../../protocol/agent/index.js";
import { HostError } from "../errors.js";

/** A container's `resources`, parsed: CPU in millicores, memory in bytes. */
export interface PodResources {
  cpuRequestMilli?: number;
  cpuLimitMilli?: number;
  memoryRequest?: number;
  memoryLimit?: number;
}

// kubelet pkg/kubelet/cm/helpers_linux.go: MinShares, MaxShares, QuotaPeriod, MinQuotaPeriod.
const MIN_SHARES = 2;
const MAX_SHARES = 262144;
/** CFS period kubelet uses (100 ms, in µs). */
export const CPU_PERIOD = 100_000;
const MIN_QUOTA = 1000;
/** The largest quantity accepted (1 PiB of memory, a million CPUs): beyond is a typo. */
const MAX_BYTES = 2 ** 50;
const MAX_MILLI = 1e9;

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};
const DECIMAL: Record<string, number> = {
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
};
const QUANTITY =
  /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|m|k|M|G|T|P|)|[eE]([+-]?[0-9]{1,2}))$/;

/**
 * Parses a Kubernetes resource quantity (`500m`, `0.5`, `64Mi`, `1G`, `1e6`; apimachinery's
 * resource.Quantity grammar without the Ei/E suffixes) into its value in base units.
 */
export function parseQuantity(v: unknown, where: string): number {
  const s = typeof v === "number" ? String(v) : v;
  if (typeof s !== "string" || s.length > 64)
    throw new HostError("ERR_POD_MANIFEST", `${where} must be a quantity such as 500m or 64Mi`);
  const m = QUANTITY.exec(s);
  if (!m)
    throw new HostError(
      "ERR_POD_MANIFEST",
      `${where} ${JSON.stringify(s)} is not a quantity such as 500m or 64Mi`,
    );
  const num = Number(m[1]);
  const exp = m[3];
  const mult =
    exp !== undefined ? 10 ** Number(exp) : (BINARY[m[2] ?? ""] ?? DECIMAL[m[2] ?? ""] ?? 1);
  return num * mult;
}

function cpuMilli(v: unknown, where: string): number {
  // apimachinery rounds a CPU quantity up to whole millicores (MilliValue).
  const milli = Math.ceil(parseQuantity(v, where) * 1000 - 1e-9);
  if (milli > MAX_MILLI) throw new HostError("ERR_POD_MANIFEST", `${where} is too large`);
  return milli;
}

function bytes(v: unknown, where: string): number {
  const b = Math.ceil(parseQuantity(v, where) - 1e-9);
  if (b > MAX_BYTES) throw new HostError("ERR_POD_MANIFEST", `${where} is too large`);
  return b;
}

/**
 * Parses `resources` of a container. Only `cpu` and `memory` are honoured; any other resource
 * name (hugepages, ephemeral-storage, extended resources) is refused rather than ignored.
 * A request without a limit stays a request; a limit without a request sets the request too
 * (the API server's defaulting). A request above its limit is refused, as the API server does.
 */
export function parseResources(v: unknown, where: string): PodResources {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v))
    throw new HostError("ERR_POD_MANIFEST", `${where} must be a mapping`);
  const o = v as Record<string, unknown>;
  const out: PodResources = {};
  for (const k of Object.keys(o)) {
    if (k !== "limits" && k !== "requests")
      throw new HostError("ERR_POD_UNSUPPORTED", `${where}.${k} is not supported`);
  }
  for (const kind of ["limits", "requests"] as const) {
    const m = o[kind];
    if (m === undefined || m === null) continue;
    if (typeof m !== "object" || Array.isArray(m))
      throw new HostError("ERR_POD_MANIFEST", `${where}.${kind} must be a mapping`);
    for (const [name, q] of Object.entries(m as Record<string, unknown>)) {
      const w = `${where}.${kind}.${name}`;
      if (name === "cpu") {
        if (kind === "limits") out.cpuLimitMilli = cpuMilli(q, w);
        else out.cpuRequestMilli = cpuMilli(q, w);
      } else if (name === "memory") {
        if (kind === "limits") out.memoryLimit = bytes(q, w);
        else out.memoryRequest = bytes(q, w);
      } else {
        throw new HostError(
          "ERR_POD_UNSUPPORTED",
          `${w}: only cpu and memory resources are supported`,
        );
      }
    }
  }
  if (out.cpuLimitMilli !== undefined) out.cpuRequestMilli ??= out.cpuLimitMilli;
  if (out.memoryLimit !== undefined) out.memoryRequest ??= out.memoryLimit;
  if (
    out.cpuLimitMilli !== undefined &&
    out.cpuRequestMilli !== undefined &&
    out.cpuRequestMilli > out.cpuLimitMilli
  )
    throw new HostError("ERR_POD_MANIFEST", `${where}: the cpu request is above its limit`);
  if (
    out.memoryLimit !== undefined &&
    out.memoryRequest !== undefined &&
    out.memoryRequest > out.memoryLimit
  )
    throw new HostError("ERR_POD_MANIFEST", `${where}: the memory request is above its limit`);
  return out;
}

/** kubelet's MilliCPUToShares. */
export function milliCpuToShares(milli: number): number {
  if (milli === 0) return MIN_SHARES;
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor((milli * 1024) / 1000)));
}

/** kubelet's MilliCPUToQuota for a period in µs. */
export function milliCpuToQuota(milli: number, period = CPU_PERIOD): number {
  if (milli === 0) return 0;
  return Math.max(MIN_QUOTA, Math.floor((milli * period) / 1000));
}

/**
 * The OCI `Linux.Resources` kubelet + containerd give a container (kubelet
 * generateLinuxContainerResources, containerd CRI WithResources), which the Kata shim passes to
 * the agent after clearing Devices, Pids, BlockIO, Network and CPU.Cpus/Mems: CPU shares from
 * the request (2 when none), a CFS quota over a 100 ms period from the limit, the memory limit,
 * and swap equal to the limit so the container cannot swap. `undefined` when the manifest set no
 * resources (the request then carries none, as before).
 */
export function toLinuxResources(r: PodResources): LinuxResources | undefined {
  if (
    r.cpuRequestMilli === undefined &&
    r.cpuLimitMilli === undefined &&
    r.memoryLimit === undefined
  ) {
    if (r.memoryRequest === undefined) return undefined;
  }
  const quota = r.cpuLimitMilli !== undefined ? milliCpuToQuota(r.cpuLimitMilli) : 0;
  return {
    Devices: [],
    HugepageLimits: [],
    Memory:
      r.memoryLimit !== undefined
        ? { Limit: BigInt(r.memoryLimit), Swap: BigInt(r.memoryLimit) }
        : undefined,
    CPU: {
      Shares: BigInt(milliCpuToShares(r.cpuRequestMilli ?? 0)),
      Quota: BigInt(quota),
      Period: BigInt(quota > 0 ? CPU_PERIOD : 0),
      Cpus: "",
      Mems: "",
    },
  };
}
