/**
 * The OCI runtime-spec `config.json` runc reads, and the container defaults every builder of it
 * shares: containerd's default capabilities, mounts, masked and read-only paths. No I/O: the
 * guest agent (from the agent API's OCI spec), the host runtime (when it shapes a
 * CreateContainerRequest) and image unpacking (from an image config) all build on this file.
 */

/** One entry of `config.json` `mounts` (runtime-spec config.md#mounts). */
export interface RuntimeMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

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
  mounts: RuntimeMount[];
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

/** Capabilities a container gets when nothing says otherwise (containerd's default set). */
export const DEFAULT_CAPS: readonly string[] = [
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

/** `PATH` for a process whose image and request name no environment (containerd, runc spec). */
export const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Paths hidden from the container (containerd's defaults). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
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

/** Paths mounted read-only in the container (containerd's defaults). */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

const DEFAULT_MOUNTS: readonly Required<RuntimeMount>[] = [
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
    options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
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

/** The mounts every container gets (containerd's defaults), as fresh copies a caller may edit. */
export function defaultMounts(): Required<RuntimeMount>[] {
  return DEFAULT_MOUNTS.map((m) => ({ ...m, options: [...m.options] }));
}

/** The RLIMIT_NOFILE every container gets (containerd's and runc spec's default). */
const DEFAULT_RLIMITS = [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }] as const;

/** What differs between containers; {@link buildRuntimeSpec} adds what every container shares. */
export interface RuntimeSpecParts {
  ociVersion: string;
  process: Omit<RuntimeSpec["process"], "terminal" | "rlimits">;
  root: RuntimeSpec["root"];
  hostname?: string;
  mounts: RuntimeMount[];
  annotations?: Record<string, string>;
  linux: Omit<RuntimeSpec["linux"], "resources">;
}

/**
 * Assembles a `config.json`: no terminal, containerd's RLIMIT_NOFILE, and a device cgroup that
 * denies every device (runc still creates the default /dev nodes).
 */
export function buildRuntimeSpec(parts: RuntimeSpecParts): RuntimeSpec {
  const spec: RuntimeSpec = {
    ociVersion: parts.ociVersion,
    process: {
      terminal: false,
      ...parts.process,
      rlimits: DEFAULT_RLIMITS.map((r) => ({ ...r })),
    },
    root: parts.root,
    mounts: parts.mounts,
    linux: { ...parts.linux, resources: { devices: [{ allow: false, access: "rwm" }] } },
  };
  if (parts.hostname !== undefined) spec.hostname = parts.hostname;
  if (parts.annotations !== undefined) spec.annotations = parts.annotations;
  return spec;
}
