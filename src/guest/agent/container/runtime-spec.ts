import type { OciMount, OciSpec } from "../../../protocol/agent/index.js";
import { AgentError } from "../errors.js";

/** The OCI runtime-spec `config.json` document runc reads (only the parts we set). */
export interface RuntimeSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities?: Record<string, string[]>;
    noNewPrivileges: boolean;
    rlimits?: { type: string; hard: number; soft: number }[];
  };
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  annotations?: Record<string, string>;
  linux: {
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    sysctl?: Record<string, string>;
    cgroupsPath?: string;
    resources?: { devices: { allow: boolean; access: string }[] };
  };
}

/** Capabilities a container gets when the request names none (containerd's default set). */
export const DEFAULT_CAPS = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Mounts every container gets when the request carries none (containerd's defaults). */
export const DEFAULT_MOUNTS: RuntimeSpec["mounts"] = [
  { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
  {
    destination: "/dev",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
  },
  {
    destination: "/dev/pts",
    type: "devpts",
    source: "devpts",
    options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
  },
  {
    destination: "/dev/shm",
    type: "tmpfs",
    source: "shm",
    options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
  },
  {
    destination: "/dev/mqueue",
    type: "mqueue",
    source: "mqueue",
    options: ["nosuid", "noexec", "nodev"],
  },
  {
    destination: "/sys",
    type: "sysfs",
    source: "sysfs",
    options: ["nosuid", "noexec", "nodev", "ro"],
  },
];

const DEFAULT_MASKED = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
];
const DEFAULT_READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

// Namespace names as the agent API carries them (Go runtime-spec names) → runc's names.
const NS_NAMES: Record<string, string> = {
  pid: "pid",
  network: "network",
  mount: "mount",
  mnt: "mount",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
};

/** Options for {@link toRuntimeSpec}. */
export interface RuntimeSpecOptions {
  /** Absolute path of the container's root filesystem in the guest. */
  rootfs: string;
  /** Mounts already resolved to guest paths (storages mounted, shared files in place). */
  mounts?: OciMount[];
  /** Join an existing network namespace instead of creating one (sandbox-wide netns). */
  netnsPath?: string;
}

/**
 * Builds runc's `config.json` from the agent API's OCI spec. Only what runc needs to run the
 * workload is carried over: hooks, devices, UID/GID mappings and seccomp are refused earlier by
 * the agent (the policy denies them too); namespace paths from the host are ignored, because a
 * host-chosen path could join another container's namespaces.
 */
export function toRuntimeSpec(spec: OciSpec, opts: RuntimeSpecOptions): RuntimeSpec {
  const proc = spec.Process;
  if (proc === undefined || proc.Args.length === 0) {
    throw new AgentError("ERR_AGENT_SPEC", "OCI.Process.Args is empty: nothing to run");
  }
  const caps = proc.Capabilities;
  const pick = (set: string[] | undefined) => (set && set.length > 0 ? set : undefined);
  const capabilities = caps
    ? {
        bounding: caps.Bounding,
        effective: caps.Effective,
        inheritable: caps.Inheritable,
        permitted: caps.Permitted,
        ambient: caps.Ambient,
      }
    : { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS };
  const namespaces = new Map<string, { type: string; path?: string }>();
  for (const ns of spec.Linux?.Namespaces ?? []) {
    const type = NS_NAMES[ns.Type];
    if (type === undefined) throw new AgentError("ERR_AGENT_SPEC", `unknown namespace ${ns.Type}`);
    // The pod shares the sandbox's network namespace (as a pod shares the pause container's);
    // user and cgroup namespaces are not offered.
    if (type === "user" || type === "cgroup" || type === "network") continue;
    namespaces.set(type, { type });
  }
  // A container always gets its own mount, pid, ipc and uts namespaces here.
  for (const t of ["mount", "pid", "ipc", "uts"])
    if (!namespaces.has(t)) namespaces.set(t, { type: t });
  if (opts.netnsPath) namespaces.set("network", { type: "network", path: opts.netnsPath });
  const mounts = (opts.mounts ?? spec.Mounts).map((m) => ({
    destination: m.destination,
    type: m.type,
    source: m.source,
    options: [...m.options],
  }));
  const user = proc.User;
  const out: RuntimeSpec = {
    ociVersion: spec.Version || "1.0.2",
    process: {
      terminal: false,
      user: {
        uid: user?.UID ?? 0,
        gid: user?.GID ?? 0,
        ...(user && user.AdditionalGids.length > 0 ? { additionalGids: user.AdditionalGids } : {}),
      },
      args: [...proc.Args],
      env:
        proc.Env.length > 0
          ? [...proc.Env]
          : ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      cwd: proc.Cwd || "/",
      capabilities: Object.fromEntries(
        Object.entries(capabilities).filter(([, v]) => pick(v) !== undefined),
      ) as Record<string, string[]>,
      noNewPrivileges: proc.NoNewPrivileges,
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
    },
    root: { path: opts.rootfs, readonly: spec.Root?.Readonly ?? false },
    mounts:
      mounts.length > 0 ? mounts : DEFAULT_MOUNTS.map((m) => ({ ...m, options: [...m.options] })),
    linux: {
      namespaces: [...namespaces.values()],
      maskedPaths: spec.Linux?.MaskedPaths.length ? [...spec.Linux.MaskedPaths] : DEFAULT_MASKED,
      readonlyPaths: spec.Linux?.ReadonlyPaths.length
        ? [...spec.Linux.ReadonlyPaths]
        : DEFAULT_READONLY,
      resources: { devices: [{ allow: false, access: "rwm" }] },
    },
  };
  if (spec.Hostname) out.hostname = spec.Hostname;
  if (spec.Linux && Object.keys(spec.Linux.Sysctl).length > 0)
    out.linux.sysctl = { ...spec.Linux.Sysctl };
  if (Object.keys(spec.Annotations).length > 0) out.annotations = { ...spec.Annotations };
  if (proc.Cwd && !proc.Cwd.startsWith("/")) {
    throw new AgentError(
      "ERR_AGENT_SPEC",
      `OCI.Process.Cwd ${JSON.stringify(proc.Cwd)} is not absolute`,
    );
  }
  return out;
}
