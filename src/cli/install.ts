/** `coco install containerd` / `coco uninstall containerd`: coco-ts onto a node's containerd. */
import type { Command } from "commander";
import {
  type InstallOptions,
  installContainerd,
  uninstallContainerd,
} from "../host/install/containerd.js";
import { DEFAULT_HANDLERS, type HandlerSpec } from "../host/install/containerd-config.js";
import { InstallError } from "../host/install/errors.js";

interface PathFlags {
  root?: string;
  containerdConfig?: string;
  confDir?: string;
  binDir?: string;
  etcDir?: string;
  snapshotterSocket?: string;
  handler: string[];
}

const collect = (v: string, prev: string[]) => [...prev, v];

function pathOptions(cmd: Command): Command {
  return cmd
    .option("--root <dir>", "prefix for every path below (an image being built, a test)", "/")
    .option("--containerd-config <file>", "containerd's main config", "/etc/containerd/config.toml")
    .option("--conf-dir <dir>", "the drop-in folder containerd imports", "/etc/containerd/conf.d")
    .option("--bin-dir <dir>", "where the shim and snapshotter launchers go", "/usr/local/bin")
    .option("--etc-dir <dir>", "coco's runtime configs and install record", "/etc/coco")
    .option(
      "--snapshotter-socket <path>",
      "the coco-snapshotter's gRPC socket",
      "/run/coco-snapshotter/snapshotter.sock",
    )
    .option(
      "--handler <name=class>",
      `runtime handler and the coco runtime class behind it (repeatable; default ${DEFAULT_HANDLERS.map((h) => `${h.name}=${h.runtimeClass}`).join(", ")})`,
      collect,
      [],
    );
}

function toOptions(f: PathFlags): InstallOptions {
  const handlers: HandlerSpec[] = f.handler.map((h) => {
    const i = h.indexOf("=");
    if (i <= 0)
      throw new InstallError("ERR_INSTALL_OPTION", `--handler wants NAME=CLASS, got ${h}`);
    return { name: h.slice(0, i), runtimeClass: h.slice(i + 1) };
  });
  return {
    ...(f.root !== undefined ? { root: f.root } : {}),
    ...(f.containerdConfig !== undefined ? { containerdConfig: f.containerdConfig } : {}),
    ...(f.confDir !== undefined ? { confDir: f.confDir } : {}),
    ...(f.binDir !== undefined ? { binDir: f.binDir } : {}),
    ...(f.etcDir !== undefined ? { etcDir: f.etcDir } : {}),
    ...(f.snapshotterSocket !== undefined ? { snapshotterSocket: f.snapshotterSocket } : {}),
    ...(handlers.length > 0 ? { handlers } : {}),
  };
}

/** Registers `coco install`. */
export function registerInstall(program: Command): void {
  const install = program.command("install").description("install coco-ts onto a node");
  pathOptions(
    install
      .command("containerd")
      .description(
        "write a containerd drop-in (runtime handlers coco-dev, coco-qemu and coco-remote, the coco snapshotter) and install the shim and snapshotter",
      ),
  ).action((f: PathFlags) => {
    const { record, dropIn } = installContainerd(toOptions(f));
    for (const p of record.files) process.stdout.write(`wrote ${p}\n`);
    if (record.importLine)
      process.stdout.write(`added an imports line for ${dropIn} to ${record.importLine.file}\n`);
    process.stdout.write(
      "restart containerd to load it (systemctl restart containerd), run coco-snapshotter, and apply deploy/runtimeclasses.yaml\n",
    );
  });
}

/** Registers `coco uninstall`. */
export function registerUninstall(program: Command): void {
  const uninstall = program
    .command("uninstall")
    .description("remove what `coco install` put on a node");
  pathOptions(
    uninstall
      .command("containerd")
      .description("remove the containerd drop-in, runtime configs, shim and snapshotter"),
  ).action((f: PathFlags) => {
    const { removed, kept } = uninstallContainerd(toOptions(f));
    for (const p of removed) process.stdout.write(`removed ${p}\n`);
    for (const p of kept)
      process.stdout.write(`kept ${p} (changed since install: no coco marker)\n`);
    process.stdout.write("restart containerd to unload the handlers\n");
  });
}
