import {
  buildRuntimeSpec,
  DEFAULT_CAPS,
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultMounts,
  type RuntimeSpec,
} from "../../../oci/index.js";
import type { OciMount, OciSpec } from "../../../protocol/agent/index.js";
import { AgentError } from "../errors.js";
import { toRuntimeResources } from "./resources.js";

export type { RuntimeSpec } from "../../../oci/index.js";

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
    : { bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS] };
  const namespaces = new Map<string, { type: string; path?: string }>();
  for (const ns of spec.Linux?.Namespaces ?? []) {
    // Object.hasOwn: a host-sent "constructor" or "__proto__" must not match an inherited key.
    const type = Object.hasOwn(NS_NAMES, ns.Type) ? NS_NAMES[ns.Type] : undefined;
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
  const out = buildRuntimeSpec({
    ociVersion: spec.Version || "1.0.2",
    process: {
      user: {
        uid: user?.UID ?? 0,
        gid: user?.GID ?? 0,
        ...(user && user.AdditionalGids.length > 0 ? { additionalGids: user.AdditionalGids } : {}),
      },
      args: [...proc.Args],
      env: proc.Env.length > 0 ? [...proc.Env] : [DEFAULT_PATH_ENV],
      cwd: proc.Cwd || "/",
      capabilities: Object.fromEntries(
        Object.entries(capabilities).filter(([, v]) => pick(v) !== undefined),
      ) as Record<string, string[]>,
      noNewPrivileges: proc.NoNewPrivileges,
    },
    root: { path: opts.rootfs, readonly: spec.Root?.Readonly ?? false },
    mounts: mounts.length > 0 ? mounts : defaultMounts(),
    linux: {
      namespaces: [...namespaces.values()],
      maskedPaths: spec.Linux?.MaskedPaths.length
        ? [...spec.Linux.MaskedPaths]
        : [...DEFAULT_MASKED_PATHS],
      readonlyPaths: spec.Linux?.ReadonlyPaths.length
        ? [...spec.Linux.ReadonlyPaths]
        : [...DEFAULT_READONLY_PATHS],
    },
  });
  // cgroup limits (kubelet's CPU shares/quota, memory limit) are applied as the Kata agent does.
  const limits = toRuntimeResources(spec.Linux?.Resources as Record<string, unknown> | undefined);
  if (limits) {
    out.linux.resources = {
      ...out.linux.resources,
      ...limits,
    } as RuntimeSpec["linux"]["resources"];
  }
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
