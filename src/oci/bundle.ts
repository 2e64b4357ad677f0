/**
 * The OCI runtime `config.json` for an unpacked image: the runtime-spec defaults (as `runc spec`
 * and oci-spec-rs produce) plus the image's process (Entrypoint + Cmd, Env, WorkingDir, User),
 * image annotations, and a tmpfs per declared volume (as image-rs does).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OciError } from "./errors.js";
import type { ImageConfig } from "./manifest.js";
import {
  buildRuntimeSpec,
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultMounts,
  type RuntimeMount,
  type RuntimeSpec,
} from "./runtime-spec.js";

// oci-spec-rs's default capability set, narrower than containerd's.
const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/** Resolves `user[:group]` (names or numbers) against the rootfs's /etc/passwd and /etc/group. */
export function resolveUser(
  rootfs: string,
  spec: string | undefined,
): { uid: number; gid: number } {
  if (spec === undefined || spec === "") return { uid: 0, gid: 0 };
  const [u = "", g] = spec.split(":", 2);
  const table = (file: string): string[][] => {
    try {
      return readFileSync(join(rootfs, "etc", file), "utf8")
        .split("\n")
        .map((l) => l.split(":"));
    } catch {
      return [];
    }
  };
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    gid =
      table("passwd").find((r) => r[2] === u)?.[3] !== undefined
        ? Number(table("passwd").find((r) => r[2] === u)![3])
        : undefined;
  } else {
    const row = table("passwd").find((r) => r[0] === u);
    if (row === undefined)
      throw new OciError(
        "ERR_OCI_CONFIG",
        `user '${u.slice(0, 64)}' is not in the image's /etc/passwd`,
      );
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const row = table("group").find((r) => r[0] === g);
      if (row === undefined)
        throw new OciError(
          "ERR_OCI_CONFIG",
          `group '${g.slice(0, 64)}' is not in the image's /etc/group`,
        );
      gid = Number(row[2]);
    }
  }
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid ?? 0))
    throw new OciError("ERR_OCI_CONFIG", "bad user/group id");
  return { uid, gid: gid ?? 0 };
}

/** Builds the runtime spec object for a bundle whose rootfs is `rootfs`. */
export function runtimeSpec(image: ImageConfig, rootfs: string, hostname = "coco"): RuntimeSpec {
  if (image.os !== "" && image.os !== "linux")
    throw new OciError("ERR_OCI_CONFIG", `image os '${image.os.slice(0, 20)}' is not linux`);
  const c = image.config;
  const args = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  const user = resolveUser(rootfs, c.User);
  const annotations: Record<string, string> = {};
  if (image.os) annotations["org.opencontainers.image.os"] = image.os;
  if (image.architecture) annotations["org.opencontainers.image.architecture"] = image.architecture;
  if (image.variant) annotations["org.opencontainers.image.variant"] = image.variant;
  if (image.author) annotations["org.opencontainers.image.author"] = image.author;
  if (image.created) annotations["org.opencontainers.image.created"] = image.created;
  if (c.StopSignal) annotations["org.opencontainers.image.stopSignal"] = c.StopSignal;
  if (c.ExposedPorts)
    annotations["org.opencontainers.image.exposedPorts"] = Object.keys(c.ExposedPorts).join(",");
  Object.assign(annotations, c.Labels ?? {});
  // oci-spec-rs's default mounts: containerd's, but /proc without options, devpts with gid=5,
  // and a read-only cgroup mount.
  const mounts: RuntimeMount[] = defaultMounts().map((m) =>
    m.destination === "/proc"
      ? { destination: m.destination, type: m.type, source: m.source }
      : m.destination === "/dev/pts"
        ? { ...m, options: [...m.options, "gid=5"] }
        : m,
  );
  mounts.push({
    destination: "/sys/fs/cgroup",
    type: "cgroup",
    source: "cgroup",
    options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
  });
  for (const v of Object.keys(c.Volumes ?? {})) {
    mounts.push({
      destination: v,
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "noexec", "nodev", "relatime", "rw"],
    });
  }
  return buildRuntimeSpec({
    ociVersion: "1.1.0",
    process: {
      user,
      args: args.length > 0 ? args : ["sh"],
      env: c.Env ?? [DEFAULT_PATH_ENV],
      cwd: c.WorkingDir && c.WorkingDir !== "" ? c.WorkingDir : "/",
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS },
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: false },
    hostname,
    mounts,
    annotations,
    linux: {
      namespaces: [
        { type: "pid" },
        { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "cgroup" },
      ],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  });
}
