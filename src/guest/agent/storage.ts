import { execFile } from "node:child_process";
import { mkdirSync, realpathSync } from "node:fs";
import { isAbsolute, join, posix, relative } from "node:path";
import { promisify } from "node:util";
import type { OciMount, Storage } from "../../protocol/agent/index.js";
import { AgentError } from "./errors.js";

const run = promisify(execFile);

/** The guest folders the agent works in, upstream's layout below one root. */
export interface AgentPaths {
  /** `/run/kata-containers` upstream. */
  root: string;
  /** Where CopyFile may write: `<root>/shared/containers`. */
  shared: string;
  /** Sandbox-wide storages (shm): `<root>/sandbox`. */
  sandbox: string;
}

/** Upstream's paths below `root` (default `/run/kata-containers`). */
export function agentPaths(root = "/run/kata-containers"): AgentPaths {
  return { root, shared: join(root, "shared", "containers"), sandbox: join(root, "sandbox") };
}

/** Storage drivers the agent accepts. Everything a host could back with its own data is refused. */
export const STORAGE_DRIVERS = ["image_guest_pull", "ephemeral", "local"] as const;

// tmpfs options a host may ask for; anything else (exec, suid, dev, uid=…) is refused.
const TMPFS_OPTIONS = /^(nosuid|nodev|noexec|rw|ro|mode=[0-7]{3,4}|size=\d+[kmg]?)$/;

const bad = (msg: string): never => {
  throw new AgentError("ERR_AGENT_STORAGE", msg);
};

/** True when `p` is `dir` itself or lies below it (lexically, both already canonical). */
export function isWithin(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

function canonical(p: string, what: string): string {
  if (!isAbsolute(p) || posix.normalize(p) !== p)
    bad(`${what} ${JSON.stringify(p)} is not an absolute canonical path`);
  return p;
}

/** A storage the agent prepared, to undo at removal. */
export interface MountedStorage {
  storage: Storage;
  /** True when the agent mounted a filesystem there (to unmount at removal). */
  mounted: boolean;
}

/** Checks a storage's driver, mount point and options for a container (or the sandbox: cid ""). */
export function checkStorage(paths: AgentPaths, cid: string, s: Storage): void {
  if (!(STORAGE_DRIVERS as readonly string[]).includes(s.driver)) {
    bad(
      `storage driver ${JSON.stringify(s.driver)} is not accepted (host-backed filesystems are refused)`,
    );
  }
  const mp = canonical(s.mountPoint, "storage mount_point");
  if (s.fsGroup !== undefined) bad("storage fs_group is not supported");
  switch (s.driver) {
    case "image_guest_pull": {
      // Pinned like kata 4.1 (GHSA-fmg6-v47x-52wr): the image goes exactly to the container's rootfs.
      const want = join(paths.root, cid, "rootfs");
      if (cid === "" || mp !== want) bad(`image_guest_pull mount_point must be ${want}`);
      if (s.options.length > 0) bad("image_guest_pull storage takes no options");
      if (s.source === "") bad("image_guest_pull storage names no image");
      return;
    }
    case "ephemeral":
      if (s.source !== "tmpfs" && s.source !== "shm")
        bad("ephemeral storage source must be tmpfs or shm");
      if (s.fstype !== "tmpfs") bad("ephemeral storage fstype must be tmpfs");
      for (const o of s.options)
        if (!TMPFS_OPTIONS.test(o)) bad(`tmpfs option ${JSON.stringify(o)} is not accepted`);
      break;
    case "local":
      if (s.options.some((o) => !/^mode=[0-7]{3,4}$/.test(o)))
        bad("local storage options may only set mode");
      break;
  }
  // Sandbox storages live under <root>/sandbox; a container's own below <root>/<cid>; pod
  // volumes shared by several containers (emptyDir) below <root>/sandbox/{local,ephemeral}.
  const scopes =
    cid === ""
      ? [paths.sandbox]
      : [
          join(paths.root, cid),
          join(paths.sandbox, s.driver === "ephemeral" ? "ephemeral" : "local"),
        ];
  if (!scopes.some((scope) => isWithin(scope, mp) && mp !== scope)) {
    bad(`storage mount_point ${mp} is outside ${scopes.join(" and ")}`);
  }
}

/** True when a container storage is a pod-wide volume another container may already have set up. */
export function isPodVolume(paths: AgentPaths, s: Storage): boolean {
  return isWithin(paths.sandbox, s.mountPoint);
}

/** Prepares a checked non-image storage: a tmpfs mount or a plain folder. */
export async function mountStorage(s: Storage): Promise<MountedStorage> {
  mkdirSync(s.mountPoint, { recursive: true, mode: 0o750 });
  if (s.driver === "ephemeral") {
    const opts = s.options.length > 0 ? s.options.join(",") : "nosuid,nodev,noexec";
    try {
      await run("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", s.mountPoint]);
    } catch (err) {
      throw new AgentError(
        "ERR_AGENT_STORAGE",
        `cannot mount tmpfs at ${s.mountPoint}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    return { storage: s, mounted: true };
  }
  return { storage: s, mounted: false };
}

/** Undoes {@link mountStorage}. */
export async function unmountStorage(m: MountedStorage): Promise<void> {
  if (!m.mounted) return;
  try {
    await run("umount", ["-l", m.storage.mountPoint]);
  } catch {
    // already gone
  }
}

// Kernel filesystems a container may mount with their conventional source names.
const KERNEL_FS: Record<string, string[]> = {
  proc: ["proc"],
  sysfs: ["sysfs"],
  tmpfs: ["tmpfs", "shm"],
  devpts: ["devpts"],
  mqueue: ["mqueue"],
  cgroup: ["cgroup"],
};

/**
 * Checks every OCI mount of a container: kernel filesystems by type, and bind mounts only from a
 * storage this container or the sandbox prepared, or from files the host copied into the shared
 * folder — resolved through symlinks, so a planted link cannot point a bind elsewhere.
 */
export function checkMounts(
  paths: AgentPaths,
  mounts: readonly OciMount[],
  storageRoots: readonly string[],
): void {
  for (const m of mounts) {
    const dest = m.destination;
    if (!isAbsolute(dest) || posix.normalize(dest) !== dest) {
      throw new AgentError(
        "ERR_AGENT_MOUNT",
        `mount destination ${JSON.stringify(dest)} is not canonical`,
      );
    }
    // Own keys only: a host-chosen type such as "constructor" must not find Object.prototype.
    const kernel = Object.hasOwn(KERNEL_FS, m.type) ? KERNEL_FS[m.type] : undefined;
    if (kernel) {
      if (!kernel.includes(m.source)) {
        throw new AgentError(
          "ERR_AGENT_MOUNT",
          `${m.type} mount at ${dest} has source ${JSON.stringify(m.source)}`,
        );
      }
      continue;
    }
    if (m.type !== "bind" && !m.options.includes("bind") && !m.options.includes("rbind")) {
      throw new AgentError(
        "ERR_AGENT_MOUNT",
        `mount type ${JSON.stringify(m.type)} at ${dest} is not accepted`,
      );
    }
    let real: string;
    try {
      real = realpathSync(m.source);
    } catch {
      throw new AgentError(
        "ERR_AGENT_MOUNT",
        `bind source for ${dest} does not exist in the guest`,
      );
    }
    const roots = [paths.shared, ...storageRoots].map((r) => {
      try {
        return realpathSync(r);
      } catch {
        return r;
      }
    });
    if (!roots.some((r) => isWithin(r, real))) {
      throw new AgentError(
        "ERR_AGENT_MOUNT",
        `bind mount at ${dest} comes from outside the shared folder and the pod's storages`,
      );
    }
  }
}
