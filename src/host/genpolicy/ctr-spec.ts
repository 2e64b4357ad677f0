/**
 * The bundle `ctr run` (containerd 2.x) writes for a container, so that `coco policy generate
 * --ctr` can pin exactly the request the shim will make of it: containerd's default Unix spec
 * (`pkg/oci` populateDefaultUnixSpec: its mounts with `/run`, capabilities, masked and read-only
 * paths, namespaces, `noNewPrivileges`, CPU shares 1024) plus the image config (`WithImageConfig`:
 * user, env, working dir, Entrypoint + Cmd) and what the manifest says in ctr's own flags
 * (`ctr run IMAGE ID CMD…`, `--env`, `--cwd`, `--user UID:GID`, `--read-only`, `--cap-add`,
 * `--cap-drop`). Recorded from containerd v2.4.2's ctr; the e2e test runs the policy against
 * the real ctr, so a drift fails there.
 */
import {
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultMounts,
} from "../../oci/index.js";
import { HostError } from "../errors.js";
import type { ImageInfo } from "../runtime/image-config.js";
import type { PodContainer, PodSpec } from "../runtime/pod.js";
import { containerArgs, containerCaps } from "../runtime/requests.js";
import type { BundleSpec } from "../shim/bundle.js";

/** The one container of a manifest meant for `ctr run`; anything ctr cannot express is refused. */
export function ctrContainer(pod: PodSpec): PodContainer {
  const refuse = (why: string): never => {
    throw new HostError("ERR_POLICY_GENERATE", `--ctr: ${why}`);
  };
  if (pod.initContainers.length > 0 || pod.containers.length !== 1)
    refuse(
      "ctr runs one container per sandbox: the manifest must have exactly one container and no init containers",
    );
  const c = pod.containers[0] as PodContainer;
  if (c.volumeMounts.length > 0 || pod.volumes.length > 0)
    refuse(`container ${c.name} mounts volumes, which ctr does not make`);
  return c;
}

/** The `linux.user` ctr writes: `--user UID:GID` (or the image's numeric user), gid listed again. */
function ctrUser(
  c: PodContainer,
  image: ImageInfo,
): { uid: number; gid: number; additionalGids: number[] } {
  const [u = "", g] = (image.config.User ?? "").split(":", 2);
  const num = (s: string | undefined): number | undefined =>
    s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
  if (c.runAsUser === undefined && u !== "" && num(u) === undefined)
    throw new HostError(
      "ERR_POLICY_GENERATE",
      `--ctr: image ${image.pinned} runs as user ${JSON.stringify(u.slice(0, 64))}, a name ctr resolves from the image on the node (which guest pull leaves empty): set securityContext.runAsUser/runAsGroup and pass ctr --user UID:GID`,
    );
  const uid = c.runAsUser ?? num(u) ?? 0;
  const gid = c.runAsGroup ?? num(g) ?? 0;
  return { uid, gid, additionalGids: [gid] };
}

/** Image env, then the manifest's (ctr `--env`: a name given again replaces the image's). */
function ctrEnv(c: PodContainer, image: ImageInfo): string[] {
  const env = [
    ...(image.config.Env && image.config.Env.length > 0 ? image.config.Env : [DEFAULT_PATH_ENV]),
  ];
  for (const e of c.env) {
    const kv = `${e.name}=${e.value}`;
    const i = env.findIndex((x) => x.startsWith(`${e.name}=`));
    if (i >= 0) env[i] = kv;
    else env.push(kv);
  }
  return env;
}

/** The config.json containerd 2.x's `ctr run` writes for this container (the parts the shim reads). */
export function ctrBundleSpec(c: PodContainer, image: ImageInfo): BundleSpec {
  const caps = containerCaps(c);
  return {
    ociVersion: "1.3.0",
    process: {
      user: ctrUser(c, image),
      args: containerArgs(c, image.config),
      env: ctrEnv(c, image),
      cwd: c.workingDir || image.config.WorkingDir || "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: c.readOnlyRootFilesystem },
    mounts: [
      ...defaultMounts(),
      {
        destination: "/run",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
    ],
    linux: {
      resources: { cpu: { shares: 1024 } },
      namespaces: ["pid", "ipc", "uts", "mount", "network"].map((type) => ({ type })),
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}
