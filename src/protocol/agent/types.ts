// TypeScript views of the agent messages the pod code reads and writes. Property names are the
// protobuf-es local names (lowerCamelCase of the proto field name; capitalised OCI names stay).

/** grpc.Storage */
export interface Storage {
  driver: string;
  driverOptions: string[];
  source: string;
  fstype: string;
  options: string[];
  mountPoint: string;
  fsGroup?: { groupId: number; groupChangePolicy: number };
  shared: boolean;
}

/** grpc.Mount */
export interface OciMount {
  destination: string;
  source: string;
  type: string;
  options: string[];
}

/** grpc.User */
export interface OciUser {
  UID: number;
  GID: number;
  AdditionalGids: number[];
  Username: string;
}

/** grpc.LinuxCapabilities */
export interface OciCapabilities {
  Bounding: string[];
  Effective: string[];
  Inheritable: string[];
  Permitted: string[];
  Ambient: string[];
}

/** grpc.Process */
export interface OciProcess {
  Terminal: boolean;
  User?: OciUser;
  Args: string[];
  Env: string[];
  Cwd: string;
  Capabilities?: OciCapabilities;
  NoNewPrivileges: boolean;
  ApparmorProfile: string;
  SelinuxLabel: string;
}

/** grpc.LinuxNamespace */
export interface OciNamespace {
  Type: string;
  Path: string;
}

/** grpc.LinuxResources (cgroup limits; int64/uint64 fields as bigint on the wire). */
export interface LinuxResources {
  Devices: unknown[];
  Memory?: {
    Limit?: bigint;
    Reservation?: bigint;
    Swap?: bigint;
    Kernel?: bigint;
    KernelTCP?: bigint;
    Swappiness?: bigint;
    DisableOOMKiller?: boolean;
  };
  CPU?: {
    Shares?: bigint;
    Quota?: bigint;
    Period?: bigint;
    RealtimeRuntime?: bigint;
    RealtimePeriod?: bigint;
    Cpus?: string;
    Mems?: string;
  };
  Pids?: { Limit?: bigint };
  BlockIO?: unknown;
  HugepageLimits: unknown[];
  Network?: unknown;
}

/** grpc.Linux (the fields the agent uses) */
export interface OciLinux {
  UIDMappings: unknown[];
  GIDMappings: unknown[];
  Sysctl: Record<string, string>;
  Resources?: LinuxResources;
  CgroupsPath: string;
  Namespaces: OciNamespace[];
  Devices: unknown[];
  Seccomp?: unknown;
  RootfsPropagation: string;
  MaskedPaths: string[];
  ReadonlyPaths: string[];
  MountLabel: string;
}

/** grpc.Spec */
export interface OciSpec {
  Version: string;
  Process?: OciProcess;
  Root?: { Path: string; Readonly: boolean };
  Hostname: string;
  Mounts: OciMount[];
  Hooks?: unknown;
  Annotations: Record<string, string>;
  Linux?: OciLinux;
}

/** grpc.CreateContainerRequest */
export interface CreateContainerRequest {
  containerId: string;
  execId: string;
  stringUser?: unknown;
  devices: unknown[];
  storages: Storage[];
  OCI?: OciSpec;
  sandboxPidns: boolean;
  sharedMounts: unknown[];
}

/** grpc.ExecProcessRequest */
export interface ExecProcessRequest {
  containerId: string;
  execId: string;
  stringUser?: unknown;
  process?: OciProcess;
}

/** grpc.CreateSandboxRequest */
export interface CreateSandboxRequest {
  hostname: string;
  dns: string[];
  storages: Storage[];
  sandboxPidns: boolean;
  sandboxId: string;
  guestHookPath: string;
  kernelModules: { name: string; parameters: string[] }[];
}

/** grpc.CopyFileRequest */
export interface CopyFileRequest {
  path: string;
  fileSize: bigint;
  fileMode: number;
  dirMode: number;
  uid: number;
  gid: number;
  offset: bigint;
  data: Uint8Array;
}
