import { randomBytes } from "node:crypto";
import {
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  defaultMounts,
  DEFAULT_CAPS as OCI_DEFAULT_CAPS,
} from "../../oci/index.js";
import type {
  CreateContainerRequest,
  CreateSandboxRequest,
  OciMount,
  Storage,
} from "../../protocol/agent/index.js";
import { HostError } from "../errors.js";
import type { ImageInfo } from "./image-config.js";
import type { PodContainer, PodSpec } from "./pod.js";
import { toLinuxResources } from "./resources.js";

/** Upstream's guest paths (kata `KATA_GUEST_SANDBOX_DNS_FILE` and friends live under here). */
export const GUEST_ROOT = "/run/kata-containers";
/** Where CopyFile'd files land (`shared_fs = none`). */
export const GUEST_SHARED = `${GUEST_ROOT}/shared/containers`;

/** A fresh container or sandbox id: 64 hex characters, as containerd makes them. */
export function newId(): string {
  return randomBytes(32).toString("hex");
}

/** Capabilities a container gets (containerd's default set), as genpolicy's `$(default_caps)`. */
export const DEFAULT_CAPS: string[] = [...OCI_DEFAULT_CAPS];

/**
 * The mounts every container gets: containerd's, with /dev/shm bound to the sandbox's shm, and
 * the read-only cgroup filesystem CRI gives every non-pause container (genpolicy's
 * containerd.rs), where a workload reads its own limits.
 */
export const DEFAULT_MOUNTS: OciMount[] = [
  ...defaultMounts().filter((m) => m.destination !== "/dev/shm"),
  {
    destination: "/dev/shm",
    type: "bind",
    source: `${GUEST_ROOT}/sandbox/shm`,
    options: ["rbind"],
  },
  {
    destination: "/sys/fs/cgroup",
    type: "cgroup",
    source: "cgroup",
    options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
  },
];

/** The sandbox's shm storage, as the Kata shim sends it (genpolicy's default sandbox storage). */
export const SHM_STORAGE: Storage = {
  driver: "ephemeral",
  driverOptions: [],
  source: "shm",
  fstype: "tmpfs",
  options: ["noexec", "nosuid", "nodev", "mode=1777", "size=67108864"],
  mountPoint: `${GUEST_ROOT}/sandbox/shm`,
  shared: false,
};

/** CreateSandboxRequest for a pod. */
export function sandboxRequest(pod: PodSpec, sandboxId: string): CreateSandboxRequest {
  return {
    hostname: pod.name,
    dns: [],
    storages: [SHM_STORAGE],
    sandboxPidns: false,
    sandboxId,
    guestHookPath: "",
    kernelModules: [],
  };
}

/** The guest folder of an emptyDir volume (sandbox-wide, so init containers can hand data on). */
export function emptyDirPath(volume: string, memory: boolean): string {
  return `${GUEST_ROOT}/sandbox/${memory ? "ephemeral" : "local"}/${volume}`;
}

/** A file the host copies into the guest before creating a container (Secret/ConfigMap items). */
export interface SharedFile {
  path: string;
  data: Uint8Array;
  mode: number;
}

/** Everything the host sends for one container. */
export interface ContainerPlan {
  request: CreateContainerRequest;
  files: SharedFile[];
}

/** The process a container runs: pod command/args over the image's Entrypoint/Cmd (Kubernetes rules). */
export function containerArgs(c: PodContainer, image: ImageInfo["config"]): string[] {
  const entry = c.command.length > 0 ? c.command : (image.Entrypoint ?? []);
  const args = c.command.length > 0 || c.args.length > 0 ? c.args : (image.Cmd ?? []);
  const all = [...entry, ...args];
  if (all.length === 0)
    throw new HostError(
      "ERR_POD_MANIFEST",
      `container ${c.name}: no command and the image has none`,
    );
  return all;
}

/** The capability set: containerd's defaults, minus `drop` (or all with ALL), plus `add`. */
export function containerCaps(c: PodContainer): string[] {
  const base = c.capabilities.drop.includes("ALL")
    ? []
    : DEFAULT_CAPS.filter((x) => !c.capabilities.drop.includes(x));
  return [...new Set([...base, ...c.capabilities.add.filter((x) => x !== "ALL")])];
}

/** The environment: image env, then pod env (later names win, as Kubernetes). */
export function containerEnv(pod: PodSpec, c: PodContainer, image: ImageInfo["config"]): string[] {
  const env = new Map<string, string>();
  for (const kv of image.Env ?? []) {
    const i = kv.indexOf("=");
    env.set(i < 0 ? kv : kv.slice(0, i), i < 0 ? "" : kv.slice(i + 1));
  }
  env.set("HOSTNAME", pod.name);
  for (const e of c.env) env.set(e.name, e.value);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/**
 * The CreateContainerRequest (and CopyFile payloads) for one container, shaped as the Kata shim
 * shapes it under guest pull: an `image_guest_pull` storage at `<root>/<cid>/rootfs`, OCI
 * Root.Path equal to it, default mounts, volumes as storages or CopyFile'd files bound in.
 */
export function containerPlan(
  pod: PodSpec,
  c: PodContainer,
  image: ImageInfo,
  ids: { cid: string; sandboxId: string },
): ContainerPlan {
  const { cid, sandboxId } = ids;
  const rootfs = `${GUEST_ROOT}/${cid}/rootfs`;
  const storages: Storage[] = [
    {
      driver: "image_guest_pull",
      driverOptions: [],
      source: image.pinned,
      fstype: "overlay",
      options: [],
      mountPoint: rootfs,
      shared: false,
    },
  ];
  const mounts: OciMount[] = DEFAULT_MOUNTS.map((m) => ({ ...m, options: [...m.options] }));
  const files: SharedFile[] = [];
  for (const vm of c.volumeMounts) {
    const v = pod.volumes.find((x) => x.name === vm.name)!;
    const ro = vm.readOnly ? ["ro"] : [];
    if (v.kind === "emptyDir") {
      const memory = v.medium === "Memory";
      const path = emptyDirPath(v.name, memory);
      storages.push({
        driver: memory ? "ephemeral" : "local",
        driverOptions: [],
        source: memory ? "tmpfs" : "local",
        fstype: memory ? "tmpfs" : "local",
        options: memory ? ["nosuid", "nodev", "mode=1777"] : ["mode=0777"],
        mountPoint: path,
        shared: true,
      });
      mounts.push({
        destination: vm.mountPath,
        type: "bind",
        source: path,
        options: ["rbind", "rprivate", ...(vm.readOnly ? ["ro"] : ["rw"])],
      });
    } else {
      const dir = `${GUEST_SHARED}/${cid}-${randomBytes(8).toString("hex")}-${v.name}`;
      for (const [key, value] of Object.entries(v.items)) {
        files.push({
          path: `${dir}/${key}`,
          data: new TextEncoder().encode(value),
          mode: 0o100644,
        });
      }
      mounts.push({
        destination: vm.mountPath,
        type: "bind",
        source: dir,
        options: ["rbind", "rprivate", "ro", ...ro].filter((o, i, a) => a.indexOf(o) === i),
      });
    }
  }
  const cfg = image.config;
  // containerd (oci.WithAdditionalGIDs) lists the primary group among the additional ones.
  const gid = c.runAsGroup ?? 0;
  const user = { UID: c.runAsUser ?? 0, GID: gid, AdditionalGids: [gid], Username: "" };
  const caps = containerCaps(c);
  const resources = toLinuxResources(c.resources);
  const request: CreateContainerRequest = {
    containerId: cid,
    execId: cid,
    devices: [],
    storages,
    sandboxPidns: false,
    sharedMounts: [],
    OCI: {
      Version: "1.1.0",
      Process: {
        Terminal: false,
        User: user,
        Args: containerArgs(c, cfg),
        Env: containerEnv(pod, c, cfg),
        Cwd: c.workingDir || cfg.WorkingDir || "/",
        Capabilities: {
          Bounding: caps,
          Effective: caps,
          Inheritable: [],
          Permitted: caps,
          Ambient: [],
        },
        NoNewPrivileges: c.noNewPrivileges,
        ApparmorProfile: "",
        SelinuxLabel: "",
      },
      Root: { Path: rootfs, Readonly: c.readOnlyRootFilesystem },
      Hostname: "",
      Mounts: mounts,
      Annotations: {
        "io.kubernetes.cri.container-type": "container",
        "io.kubernetes.cri.container-name": c.name,
        "io.kubernetes.cri.image-name": image.pinned,
        "io.kubernetes.cri.sandbox-id": sandboxId,
        "io.kubernetes.cri.sandbox-name": pod.name,
        "io.kubernetes.cri.sandbox-namespace": pod.namespace,
      },
      Linux: {
        UIDMappings: [],
        GIDMappings: [],
        Sysctl: {},
        ...(resources ? { Resources: resources } : {}),
        CgroupsPath: "",
        Namespaces: [
          { Type: "ipc", Path: "" },
          { Type: "uts", Path: "" },
          { Type: "mount", Path: "" },
        ],
        Devices: [],
        RootfsPropagation: "",
        MaskedPaths: [...DEFAULT_MASKED_PATHS],
        ReadonlyPaths: [...DEFAULT_READONLY_PATHS],
        MountLabel: "",
      },
    },
  };
  return { request, files };
}
