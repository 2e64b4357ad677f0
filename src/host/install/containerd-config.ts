/**
 * What `coco install containerd` writes into a node's containerd configuration: a drop-in (config
 * version 3, which containerd 2.0 and later read) with one CRI runtime handler per sandbox kind,
 * the `coco` proxy snapshotter, and the per-handler runtime config the shim reads through
 * containerd's `options.ConfigPath` (the way Kata's handlers point at their configuration file).
 */
import { parse as parseToml, stringify as toToml } from "smol-toml";
import { RUNTIME_CLASSES } from "../sandbox/index.js";
import { InstallError } from "./errors.js";

/** containerd's runtime type for our shim; containerd maps it to `containerd-shim-coco-v2`. */
export const RUNTIME_TYPE = "io.containerd.coco.v2";
/** The shim's program name (containerd's naming rule for `io.containerd.coco.v2`). */
export const SHIM_PROGRAM = "containerd-shim-coco-v2";
/** The proxy snapshotter's program name. */
export const SNAPSHOTTER_PROGRAM = "coco-snapshotter";
/** The snapshotter's name in containerd (`[proxy_plugins.coco]`, `snapshotter = "coco"`). */
export const SNAPSHOTTER_NAME = "coco";
/** Pod annotations containerd passes to the shim (init-data and other Kata knobs), as Kata's. */
export const POD_ANNOTATIONS = ["io.katacontainers.*"] as const;
/** The first line of every file the installer writes; uninstall removes only files carrying it. */
export const MARKER =
  "# Written by `coco install containerd` (coco-ts); `coco uninstall containerd` removes it.";

/** One CRI runtime handler and the coco runtime class (sandbox kind) behind it. */
export interface HandlerSpec {
  /** The handler name: `crictl runp --runtime NAME`, a RuntimeClass's `handler`. */
  name: string;
  /** A runtime class `coco run` knows (see RUNTIME_CLASSES): chooses the sandbox. */
  runtimeClass: string;
}

/** The handlers installed by default: the process sandbox, the QEMU VM and peer pods. */
export const DEFAULT_HANDLERS: readonly HandlerSpec[] = [
  { name: "coco-dev", runtimeClass: "coco-dev" },
  { name: "coco-qemu", runtimeClass: "qemu" },
  { name: "coco-remote", runtimeClass: "coco-remote" },
];

const HANDLER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Throws unless `h` names a DNS-label handler and a known runtime class. */
export function assertHandler(h: HandlerSpec): void {
  if (!HANDLER_NAME.test(h.name) || h.name.length > 63)
    throw new InstallError(
      "ERR_INSTALL_OPTION",
      `runtime handler ${JSON.stringify(h.name)} is not a DNS label`,
    );
  if (!Object.hasOwn(RUNTIME_CLASSES, h.runtimeClass))
    throw new InstallError(
      "ERR_INSTALL_OPTION",
      `handler ${h.name}: unknown runtime class ${JSON.stringify(h.runtimeClass)}; known: ${Object.keys(RUNTIME_CLASSES).join(", ")}`,
    );
}

/** Inputs of {@link containerdDropIn}. */
export interface DropInOptions {
  handlers: readonly HandlerSpec[];
  /** Absolute path of the installed shim launcher (containerd's `runtime_path`). */
  shimPath: string;
  /** The snapshotter's gRPC unix socket. */
  snapshotterSocket: string;
  /** Absolute path of a handler's runtime config (the shim's ConfigPath). */
  runtimeConfigPath: (handler: string) => string;
  /** The node's platform for the transfer service's unpack table (default: this machine's). */
  platform?: string;
}

/** This machine's OCI platform as containerd names it (`linux/amd64`). */
export function nodePlatform(): string {
  const arch: Record<string, string> = { x64: "amd64", ia32: "386", ppc64: "ppc64le" };
  return `linux/${arch[process.arch] ?? process.arch}`;
}

/**
 * containerd's transfer service (what `ctr images pull` uses) unpacks only for the snapshotters
 * its `unpack_config` lists: containerd's default `overlayfs` is kept and `coco` added, so
 * `ctr images pull --snapshotter coco` works and, as for CRI pulls, fetches no layer.
 */
export function transferUnpackConfig(platform: string): Record<string, unknown> {
  return {
    unpack_config: [
      { platform, snapshotter: "overlayfs" },
      { platform, snapshotter: SNAPSHOTTER_NAME },
    ],
  };
}

/** The containerd drop-in text (TOML, config version 3). */
export function containerdDropIn(o: DropInOptions): string {
  const runtimes: Record<string, unknown> = {};
  for (const h of o.handlers) {
    assertHandler(h);
    runtimes[h.name] = {
      runtime_type: RUNTIME_TYPE,
      runtime_path: o.shimPath,
      pod_annotations: [...POD_ANNOTATIONS],
      // The guest pulls the image; the host keeps no layer (see coco-snapshotter).
      snapshotter: SNAPSHOTTER_NAME,
      // The sandbox is not a host container: host devices are never passed in.
      privileged_without_host_devices: true,
      options: { ConfigPath: o.runtimeConfigPath(h.name) },
    };
  }
  const config = {
    version: 3,
    proxy_plugins: {
      [SNAPSHOTTER_NAME]: { type: "snapshot", address: o.snapshotterSocket },
    },
    plugins: {
      "io.containerd.cri.v1.images": {
        // A remote snapshotter needs the image's layer annotations (digest, image reference).
        disable_snapshot_annotations: false,
      },
      "io.containerd.cri.v1.runtime": { containerd: { runtimes } },
      "io.containerd.transfer.v1.local": transferUnpackConfig(o.platform ?? nodePlatform()),
    },
  };
  return `${MARKER}\n${toToml(config)}\n`;
}

/** What the shim learns from a handler's runtime config (containerd's `options.ConfigPath`). */
export interface RuntimeConfig {
  handler: string;
  /** A runtime class `coco run` knows; chooses the sandbox (process, qemu). */
  runtimeClass: string;
}

/** The runtime config file for one handler. */
export function runtimeConfigToml(h: HandlerSpec): string {
  assertHandler(h);
  return `${MARKER}\n${toToml({ handler: h.name, runtime_class: h.runtimeClass })}\n`;
}

/** Parses a handler's runtime config; unknown keys, a wrong type or an unknown class are refused. */
export function parseRuntimeConfig(text: string): RuntimeConfig {
  if (text.length > 64 * 1024)
    throw new InstallError("ERR_INSTALL_RUNTIME_CONFIG", "runtime config is larger than 64 KiB");
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new InstallError(
      "ERR_INSTALL_RUNTIME_CONFIG",
      `runtime config is not valid TOML: ${(err as Error).message.split("\n")[0]}`,
      { cause: err },
    );
  }
  for (const k of Object.keys(doc)) {
    if (k !== "handler" && k !== "runtime_class")
      throw new InstallError(
        "ERR_INSTALL_RUNTIME_CONFIG",
        `runtime config: unknown key ${JSON.stringify(k)}`,
      );
  }
  const { handler, runtime_class: runtimeClass } = doc;
  if (typeof handler !== "string" || typeof runtimeClass !== "string")
    throw new InstallError(
      "ERR_INSTALL_RUNTIME_CONFIG",
      "runtime config needs string keys `handler` and `runtime_class`",
    );
  try {
    assertHandler({ name: handler, runtimeClass });
  } catch (err) {
    throw new InstallError(
      "ERR_INSTALL_RUNTIME_CONFIG",
      `runtime config: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return { handler, runtimeClass };
}

/** A systemd unit that runs the snapshotter (written for nodes that use systemd; not enabled). */
export function snapshotterUnit(snapshotterPath: string, socket: string): string {
  return [
    MARKER,
    "[Unit]",
    "Description=coco-snapshotter: containerd proxy snapshotter for guest-pulled images (coco-ts)",
    "Before=containerd.service",
    "",
    "[Service]",
    `ExecStart=${snapshotterPath} --socket ${socket}`,
    "Restart=always",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
