/**
 * containerd's OCI bundle (`config.json`, written by CRI or ctr) → the agent's requests, the way
 * the Kata shim maps them for a guest-pull pod (kata `virtcontainers/kata_agent.go`,
 * constrainGRPCSpec): the image is named, never mounted; host paths, host cgroups, host LSM
 * labels and host namespace paths mean nothing in the guest and are left out; everything that
 * decides what runs (process, user, capabilities, env, mounts the workload sees, limits) is
 * passed on as the host asked, so the pod's policy in the guest judges it.
 */
import type {
  CreateContainerRequest,
  LinuxResources,
  OciMount,
  OciProcess,
  Storage,
} from "../../protocol/agent/index.js";
import { HostError } from "../errors.js";
import { GUEST_ROOT } from "../runtime/requests.js";
import { type BundleProcess, type BundleSpec, CRI } from "./bundle.js";

export { type BundleProcess, type BundleSpec, CRI, parseBundleSpec } from "./bundle.js";

/** CRI annotations a container's request carries to the guest (the ones the policy pins). */
const FORWARDED_ANNOTATIONS = [
  CRI.containerType,
  CRI.containerName,
  CRI.imageName,
  CRI.sandboxId,
  CRI.sandboxName,
  CRI.sandboxNamespace,
];

/** The agent spec version the shim writes (the spec it sends is its own, not containerd's). */
export const AGENT_SPEC_VERSION = "1.1.0";

const strs = (v: unknown, what: string): string[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw new HostError("ERR_SHIM_SPEC", `${what} must be a list of strings`);
  return v as string[];
};
const u32 = (v: unknown, what: string): number => {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new HostError("ERR_SHIM_SPEC", `${what} must be a 32-bit unsigned integer`);
  return v;
};
const i64 = (v: unknown, what: string): bigint | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v))
    throw new HostError("ERR_SHIM_SPEC", `${what} must be an integer`);
  return BigInt(v);
};

/**
 * The agent's OCI Process for a bundle or exec process. A terminal is refused (the agent has no
 * terminal support); host LSM labels (AppArmor, SELinux) name host policies and are not sent.
 */
export function toAgentProcess(p: BundleProcess | undefined): OciProcess {
  if (!p || typeof p !== "object") throw new HostError("ERR_SHIM_SPEC", "the spec has no process");
  if (p.terminal === true)
    throw new HostError(
      "ERR_SHIM_UNSUPPORTED",
      "a terminal (tty) was requested: the confidential pod's agent has no terminal support",
    );
  const args = strs(p.args, "process.args");
  if (args.length === 0) throw new HostError("ERR_SHIM_SPEC", "process.args is empty");
  const caps = p.capabilities ?? {};
  const u = p.user ?? {};
  return {
    Terminal: false,
    User: {
      UID: u32(u.uid, "process.user.uid"),
      GID: u32(u.gid, "process.user.gid"),
      AdditionalGids: (u.additionalGids ?? []).map((g) => u32(g, "process.user.additionalGids")),
      Username: typeof u.username === "string" ? u.username : "",
    },
    Args: args,
    Env: strs(p.env, "process.env"),
    Cwd: typeof p.cwd === "string" && p.cwd !== "" ? p.cwd : "/",
    Capabilities: {
      Bounding: strs(caps.bounding, "capabilities.bounding"),
      Effective: strs(caps.effective, "capabilities.effective"),
      Inheritable: strs(caps.inheritable, "capabilities.inheritable"),
      Permitted: strs(caps.permitted, "capabilities.permitted"),
      Ambient: strs(caps.ambient, "capabilities.ambient"),
    },
    NoNewPrivileges: p.noNewPrivileges === true,
    ApparmorProfile: "",
    SelinuxLabel: "",
  };
}

/** Mount destinations CRI fills from files of its own on the host (not sent; see docs). */
const CRI_HOST_FILES = new Set([
  "/etc/hosts",
  "/etc/hostname",
  "/etc/resolv.conf",
  "/dev/termination-log",
]);

/** The guest's sandbox-wide shm (CreateSandbox's ephemeral storage). */
const GUEST_SHM: OciMount = {
  destination: "/dev/shm",
  type: "bind",
  source: `${GUEST_ROOT}/sandbox/shm`,
  options: ["rbind"],
};

/**
 * The mounts the container sees. Kernel filesystems pass as given; /dev/shm bound from the
 * host's sandbox shm becomes the guest sandbox's shm (as Kata); CRI's own host files (hosts,
 * hostname, resolv.conf, termination-log) are not sent; any other mount — a host path, a volume
 * the host adds — is passed on unchanged, so the guest policy refuses what the pod's owner did
 * not declare (and the agent refuses binds from guest paths it did not create).
 */
export function toAgentMounts(spec: BundleSpec): OciMount[] {
  const out: OciMount[] = [];
  for (const m of spec.mounts ?? []) {
    const destination = typeof m.destination === "string" ? m.destination : "";
    if (destination === "") throw new HostError("ERR_SHIM_SPEC", "a mount has no destination");
    const type = typeof m.type === "string" ? m.type : "";
    const options = strs(m.options, `mount ${destination} options`);
    const isBind = type === "bind" || options.includes("bind") || options.includes("rbind");
    if (isBind && CRI_HOST_FILES.has(destination)) continue;
    if (isBind && destination === "/dev/shm") {
      out.push({ ...GUEST_SHM, options: [...GUEST_SHM.options] });
      continue;
    }
    out.push({ destination, type, source: typeof m.source === "string" ? m.source : "", options });
  }
  return out;
}

/**
 * CPU and memory limits only (Kata's constrainGRPCSpec clears devices, pids, block I/O, network
 * and cpusets: they name host resources); none when the spec sets neither.
 */
export function toAgentResources(spec: BundleSpec): LinuxResources | undefined {
  const r = spec.linux?.resources;
  if (!r) return undefined;
  const out: LinuxResources = { Devices: [], HugepageLimits: [] };
  let any = false;
  if (r.memory && (r.memory.limit !== undefined || r.memory.reservation !== undefined)) {
    const m: NonNullable<LinuxResources["Memory"]> = {};
    const limit = i64(r.memory.limit, "memory.limit");
    const swap = i64(r.memory.swap, "memory.swap");
    const reservation = i64(r.memory.reservation, "memory.reservation");
    if (limit !== undefined && limit > 0n) m.Limit = limit;
    if (swap !== undefined && swap > 0n) m.Swap = swap;
    if (reservation !== undefined && reservation > 0n) m.Reservation = reservation;
    if (Object.keys(m).length > 0) {
      out.Memory = m;
      any = true;
    }
  }
  if (r.cpu) {
    const c: NonNullable<LinuxResources["CPU"]> = {};
    const shares = i64(r.cpu.shares, "cpu.shares");
    const quota = i64(r.cpu.quota, "cpu.quota");
    const period = i64(r.cpu.period, "cpu.period");
    if (shares !== undefined && shares > 0n) c.Shares = shares;
    if (quota !== undefined && quota > 0n) c.Quota = quota;
    if (period !== undefined && period > 0n) c.Period = period;
    if (Object.keys(c).length > 0) {
      out.CPU = c;
      any = true;
    }
  }
  return any ? out : undefined;
}

/** The container-level namespaces the guest creates (host paths dropped; the agent decides). */
function toAgentNamespaces(spec: BundleSpec): { Type: string; Path: string }[] {
  const keep = new Set(["ipc", "uts", "mount"]);
  const out: { Type: string; Path: string }[] = [];
  for (const n of spec.linux?.namespaces ?? []) {
    const t = typeof n.type === "string" ? n.type : "";
    if (keep.has(t) && !out.some((x) => x.Type === t)) out.push({ Type: t, Path: "" });
  }
  return out;
}

/** User-namespace mappings, passed on (the policy refuses any). */
function idMappings(
  v: unknown,
  what: string,
): { HostID: number; ContainerID: number; Size: number }[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new HostError("ERR_SHIM_SPEC", `${what} must be a list`);
  return v.map((m: { hostID?: unknown; containerID?: unknown; size?: unknown }) => ({
    HostID: u32(m?.hostID, what),
    ContainerID: u32(m?.containerID, what),
    Size: u32(m?.size, what),
  }));
}

/** Sysctls, passed on (the policy decides). */
function sysctls(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v))
    throw new HostError("ERR_SHIM_SPEC", "linux.sysctl must be an object");
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") throw new HostError("ERR_SHIM_SPEC", `sysctl ${k} must be a string`);
    out[k] = x;
  }
  return out;
}

/** Inputs to {@link toCreateContainerRequest} besides the spec. */
export interface ContainerIds {
  containerId: string;
  sandboxId: string;
  /**
   * A container without CRI annotations (`ctr run`): its image reference, from containerd's
   * record of it, and no annotation is forwarded (it has no pod: see docs/kubernetes.md).
   */
  standaloneImage?: string;
}

/** The image reference the guest pulls: CRI's image-name annotation. */
export function imageOf(spec: BundleSpec): string {
  const img = spec.annotations?.[CRI.imageName];
  if (typeof img !== "string" || img === "")
    throw new HostError(
      "ERR_SHIM_SPEC",
      `the container has no ${CRI.imageName} annotation: the guest pulls the image itself and needs its reference (ctr: --annotation ${CRI.imageName}=REF)`,
    );
  return img;
}

/**
 * The CreateContainerRequest for an app container: an `image_guest_pull` storage at
 * `<root>/<cid>/rootfs` (the rootfs containerd prepared on the host is never used), OCI Root at
 * it, the process, mounts, CRI annotations and limits from the bundle.
 */
export function toCreateContainerRequest(
  spec: BundleSpec,
  ids: ContainerIds,
): CreateContainerRequest {
  const rootfs = `${GUEST_ROOT}/${ids.containerId}/rootfs`;
  const standalone = ids.standaloneImage !== undefined;
  const image = ids.standaloneImage ?? imageOf(spec);
  const storages: Storage[] = [
    {
      driver: "image_guest_pull",
      driverOptions: [],
      source: image,
      fstype: "overlay",
      options: [],
      mountPoint: rootfs,
      shared: false,
    },
  ];
  const annotations: Record<string, string> = {};
  for (const k of standalone ? [] : FORWARDED_ANNOTATIONS) {
    const v = spec.annotations?.[k];
    if (typeof v === "string") annotations[k] = v;
  }
  const resources = toAgentResources(spec);
  const l = spec.linux ?? {};
  return {
    containerId: ids.containerId,
    execId: ids.containerId,
    devices: [],
    storages,
    sandboxPidns: false,
    sharedMounts: [],
    OCI: {
      Version: AGENT_SPEC_VERSION,
      Process: toAgentProcess(spec.process),
      Root: { Path: rootfs, Readonly: spec.root?.readonly === true },
      Hostname: typeof spec.hostname === "string" ? spec.hostname : "",
      Mounts: toAgentMounts(spec),
      Annotations: annotations,
      Linux: {
        UIDMappings: idMappings(l.uidMappings, "linux.uidMappings"),
        GIDMappings: idMappings(l.gidMappings, "linux.gidMappings"),
        Sysctl: sysctls(l.sysctl),
        ...(resources ? { Resources: resources } : {}),
        CgroupsPath: "",
        Namespaces: toAgentNamespaces(spec),
        Devices: [],
        RootfsPropagation: typeof l.rootfsPropagation === "string" ? l.rootfsPropagation : "",
        MaskedPaths: strs(l.maskedPaths, "linux.maskedPaths"),
        ReadonlyPaths: strs(l.readonlyPaths, "linux.readonlyPaths"),
        MountLabel: typeof l.mountLabel === "string" ? l.mountLabel : "",
      },
    },
  };
}
