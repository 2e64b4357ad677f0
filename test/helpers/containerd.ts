/**
 * Test harness for a real containerd 2.x (from the Go module proxy, installed by scripts/setup
 * into .tools/bin) on a private root, state, config and socket, with the CRI plugin configured:
 * containerd's own `runc` handler plus whatever runtime handlers the caller adds (ours come from
 * `coco install containerd`'s drop-in, passed as `imports`). Used by tests, the demo and benches.
 *
 * Everything the instance creates lives under one temporary folder (sockets, pod network
 * namespaces, pod logs, CNI state); its CNI network is a bridge with a unique name and no address
 * on the host (no gateway, no masquerading), so pods get an `eth0` as kubelet expects while no
 * packet leaves the machine. `stop()` removes the pods, stops containerd by PID, kills any shim it
 * left (found by its `-address` argument), unmounts what is left under the folder, deletes the
 * bridge and the folder.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify as toToml } from "smol-toml";
import { type CommandResult, runChecked, runCommand } from "./command.js";
import {
  BUSYBOX_IMAGE,
  PAUSE_IMAGE,
  writeBusyboxArchive,
  writePauseArchive,
} from "./oci-archive.js";
import { toolPath } from "./paths.js";
import { ProcessError, type RunningProcess, startProcess } from "./process.js";

/** The containerd namespace the CRI plugin uses. */
export const CRI_NAMESPACE = "k8s.io";

/** Debian's CNI plugins (containernetworking-plugins). */
export const CNI_BIN_DIR = "/usr/lib/cni";

/** A runtime handler to add to the CRI plugin's config. */
export interface RuntimeHandler {
  /** The handler name (`crictl runp --runtime NAME`, a RuntimeClass's `handler`). */
  name: string;
  runtimeType: string;
  runtimePath?: string;
  snapshotter?: string;
  podAnnotations?: string[];
  options?: Record<string, unknown>;
}

/** Options for {@link startContainerd}. */
export interface ContainerdOptions {
  /** TOML drop-ins containerd imports (e.g. what `coco install containerd` wrote). */
  imports?: string[];
  /** Runtime handlers besides `runc`, written into the main config. */
  runtimes?: RuntimeHandler[];
  /** Proxy plugins (e.g. `{ coco: { type: "snapshot", address } }`). */
  proxyPlugins?: Record<string, { type: string; address: string }>;
  /** CRI's `disable_snapshot_annotations` (default: containerd's, true). */
  snapshotAnnotations?: boolean;
  /** Folders put in front of containerd's PATH (where it finds `containerd-shim-*-v2`). */
  pathPrefix?: string[];
  /** Import the local pause and busybox images (default true). */
  importImages?: boolean;
  /** Readiness limit in milliseconds (default 60 s). */
  timeoutMs?: number;
  /** containerd's log level (default "info"). */
  logLevel?: string;
  /** Environment added to containerd's (it hands its environment to the shims it starts). */
  env?: Record<string, string>;
}

/** A running containerd. */
export interface ContainerdHarness {
  /** The private folder holding everything this instance made. */
  dir: string;
  /** The gRPC socket path (CRI and containerd API). */
  address: string;
  /** `unix://…` form of {@link address}, as kubelet and crictl take it. */
  endpoint: string;
  configPath: string;
  /** A folder for pod log directories (CRI `log_directory`). */
  podLogDir: string;
  /** The CNI bridge name (deleted on stop). */
  bridge: string;
  /**
   * A cgroup parent for this instance's pods (CRI `linux.cgroup_parent`, cgroupfs driver), so
   * that stop() can remove the cgroups runc made.
   */
  cgroupParent: string;
  /** The pause image CRI's sandboxes use. */
  pauseImage: string;
  process: RunningProcess;
  /** Runs crictl against this instance. */
  crictl(
    args: readonly string[],
    opts?: { input?: string; timeoutMs?: number },
  ): Promise<CommandResult>;
  /** Runs crictl and returns stdout; a non-zero exit throws with its stderr. */
  crictlOk(args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Runs ctr (namespace k8s.io unless args set `-n`) and returns stdout; non-zero throws. */
  ctrOk(args: readonly string[], opts?: { timeoutMs?: number }): Promise<string>;
  /** Imports an OCI archive into the CRI namespace (optionally for a given snapshotter). */
  importImage(archive: string, snapshotter?: string): Promise<void>;
  /** PIDs of shims started for this instance (matched by their `-address` argument). */
  shimPids(): number[];
  /** The last 64 KiB of containerd's log. */
  output(): string;
  stop(): Promise<void>;
}

/** Paths of the binaries scripts/setup installs; a missing one is a stated skip reason. */
export const CONTAINERD_BINS = {
  containerd: toolPath("containerd"),
  ctr: toolPath("ctr"),
  crictl: toolPath("crictl"),
  shimRunc: toolPath("containerd-shim-runc-v2"),
};

/** A skip reason when containerd, ctr, crictl, the runc shim, runc or CNI plugins are absent. */
export function containerdSkip(): string | false {
  if (process.getuid?.() !== 0) return "containerd tests need root";
  for (const [name, path] of Object.entries(CONTAINERD_BINS)) {
    if (!existsSync(path)) return `${name} is not installed at ${path}; run scripts/setup`;
  }
  if (!existsSync("/usr/sbin/runc")) return "runc is not installed; run scripts/setup";
  if (!existsSync(join(CNI_BIN_DIR, "bridge")))
    return `CNI plugins are not installed in ${CNI_BIN_DIR}; run scripts/setup`;
  return false;
}

function runtimeTable(h: RuntimeHandler): Record<string, unknown> {
  const t: Record<string, unknown> = { runtime_type: h.runtimeType };
  if (h.runtimePath !== undefined) t.runtime_path = h.runtimePath;
  if (h.snapshotter !== undefined) t.snapshotter = h.snapshotter;
  if (h.podAnnotations !== undefined) t.pod_annotations = h.podAnnotations;
  if (h.options !== undefined) t.options = h.options;
  return t;
}

/** The containerd config (version 3) for an instance rooted at `dir`. */
export function containerdConfig(
  dir: string,
  opts: Pick<
    ContainerdOptions,
    "imports" | "runtimes" | "logLevel" | "proxyPlugins" | "snapshotAnnotations"
  >,
): string {
  const runtimes: Record<string, unknown> = {
    runc: runtimeTable({
      name: "runc",
      runtimeType: "io.containerd.runc.v2",
      options: { BinaryName: "/usr/sbin/runc", SystemdCgroup: false, Root: join(dir, "runc") },
    }),
  };
  for (const h of opts.runtimes ?? []) runtimes[h.name] = runtimeTable(h);
  const config = {
    version: 3,
    root: join(dir, "root"),
    state: join(dir, "state"),
    ...(opts.imports !== undefined && opts.imports.length > 0 ? { imports: opts.imports } : {}),
    grpc: { address: join(dir, "containerd.sock") },
    ttrpc: { address: join(dir, "containerd.sock.ttrpc") },
    debug: { level: opts.logLevel ?? "info" },
    ...(opts.proxyPlugins !== undefined ? { proxy_plugins: opts.proxyPlugins } : {}),
    plugins: {
      // NRI would open the machine-wide /var/run/nri/nri.sock, shared with other instances.
      "io.containerd.nri.v1.nri": { disable: true },
      "io.containerd.cri.v1.images": {
        snapshotter: "overlayfs",
        pinned_images: { sandbox: PAUSE_IMAGE },
        ...(opts.snapshotAnnotations === true ? { disable_snapshot_annotations: false } : {}),
      },
      "io.containerd.cri.v1.runtime": {
        enable_selinux: false,
        // This machine withholds CAP_SYS_RESOURCE, so no process may lower its OOM score below
        // containerd's own (the pause container asks for -998): clamp as rootless setups do.
        restrict_oom_score_adj: true,
        // Pod network namespaces under this instance's state folder, not /var/run/netns.
        netns_mounts_under_state_dir: true,
        containerd: { default_runtime_name: "runc", runtimes },
        cni: { bin_dirs: [CNI_BIN_DIR], conf_dir: join(dir, "cni", "net.d"), max_conf_num: 1 },
      },
      "io.containerd.grpc.v1.cri": {
        disable_tcp_service: true,
        stream_server_address: "127.0.0.1",
        stream_server_port: "0",
      },
    },
  };
  return toToml(config);
}

/** A CNI bridge network with no host address: pods get eth0 + an address, nothing is routed. */
function cniConfig(dir: string, bridge: string): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: `coco-test-${bridge}`,
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: false,
          isDefaultGateway: false,
          ipMasq: false,
          hairpinMode: false,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: "10.88.0.0/16" }]],
            dataDir: join(dir, "cni", "ipam"),
          },
        },
      ],
    },
    null,
    2,
  );
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const lines = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
  const points = new Set<string>();
  for (const l of lines) {
    const mp = l.split(" ")[4];
    if (mp === undefined) continue;
    const path = mp.replace(/\\040/g, " ");
    if (path === dir || path.startsWith(`${dir}/`)) points.add(path);
  }
  return [...points].sort((a, b) => b.length - a.length);
}

/** PIDs whose command line carries `-address <address>` (the shims containerd started). */
function pidsWithAddress(address: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const i = argv.indexOf("-address");
    if (i >= 0 && argv[i + 1] === address) pids.push(Number(e));
  }
  return pids;
}

/**
 * Starts containerd on a fresh private folder and waits until its CRI plugin reports the
 * runtime and network ready; imports the local pause and busybox images. Stop it with `stop()`.
 */
export async function startContainerd(opts: ContainerdOptions = {}): Promise<ContainerdHarness> {
  const skip = containerdSkip();
  if (skip !== false) throw new ProcessError("ERR_PROCESS_START", skip);
  const dir = mkdtempSync(join(tmpdir(), "coco-ctrd-"));
  const address = join(dir, "containerd.sock");
  const configPath = join(dir, "config.toml");
  const podLogDir = join(dir, "pod-logs");
  const suffix = randomBytes(4).toString("hex");
  const bridge = `coco${suffix}`;
  const cgroupParent = `/coco-test-${suffix}`;
  mkdirSync(join(dir, "cni", "net.d"), { recursive: true });
  mkdirSync(podLogDir, { recursive: true });
  writeFileSync(join(dir, "cni", "net.d", "10-coco-test.conflist"), cniConfig(dir, bridge));
  writeFileSync(configPath, containerdConfig(dir, opts));
  const env = {
    ...process.env,
    ...opts.env,
    PATH: [
      ...(opts.pathPrefix ?? []),
      join(toolPath("containerd"), ".."),
      "/usr/sbin",
      "/usr/bin",
      "/sbin",
      "/bin",
    ].join(":"),
  };
  const crictlArgs = [
    "--runtime-endpoint",
    `unix://${address}`,
    "--image-endpoint",
    `unix://${address}`,
    "--config",
    join(dir, "crictl.yaml"),
  ];
  writeFileSync(join(dir, "crictl.yaml"), "timeout: 60\n");
  let proc: RunningProcess;
  try {
    proc = await startProcess({
      name: "containerd",
      command: CONTAINERD_BINS.containerd,
      args: ["--config", configPath],
      env,
      ready: { kind: "file", path: address },
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
  } catch (err) {
    cleanupFolder(dir, bridge, cgroupParent);
    throw err;
  }
  const crictl = (args: readonly string[], o: { input?: string; timeoutMs?: number } = {}) =>
    runCommand(CONTAINERD_BINS.crictl, [...crictlArgs, ...args], { ...o, env });
  const ctrOk = (args: readonly string[], o: { timeoutMs?: number } = {}) =>
    runChecked(
      CONTAINERD_BINS.ctr,
      ["--address", address, ...(args.includes("-n") ? [] : ["-n", CRI_NAMESPACE]), ...args],
      { ...o, env },
    );
  let stopped = false;
  const h: ContainerdHarness = {
    dir,
    address,
    endpoint: `unix://${address}`,
    configPath,
    podLogDir,
    bridge,
    cgroupParent,
    pauseImage: PAUSE_IMAGE,
    process: proc,
    crictl,
    async crictlOk(args, o) {
      const r = await crictl(args, o);
      if (r.status !== 0)
        throw new Error(
          `crictl ${args.join(" ")} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`,
        );
      return r.stdout;
    },
    ctrOk,
    async importImage(archive, snapshotter) {
      await ctrOk([
        "images",
        "import",
        ...(snapshotter !== undefined ? ["--snapshotter", snapshotter] : []),
        archive,
      ]);
    },
    shimPids: () => pidsWithAddress(address),
    output: () => proc.output(),
    async stop() {
      if (stopped) return;
      stopped = true;
      // Pods first (their shims, netns and mounts go with them), then containerd itself.
      if (existsSync(address)) await crictl(["rmp", "--all", "--force"], { timeoutMs: 60_000 });
      await proc.stop();
      for (const pid of pidsWithAddress(address)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // exited meanwhile
        }
      }
      cleanupFolder(dir, bridge, cgroupParent);
    },
  };
  try {
    await waitCriReady(h, opts.timeoutMs ?? 60_000);
    if (opts.importImages !== false) {
      const pause = join(dir, "pause.oci.tar");
      const busybox = join(dir, "busybox.oci.tar");
      await writePauseArchive(pause);
      await writeBusyboxArchive(busybox);
      await h.importImage(pause);
      await h.importImage(busybox);
    }
  } catch (err) {
    const out = proc.output();
    await h.stop();
    throw new ProcessError(
      "ERR_PROCESS_START",
      `containerd did not become ready: ${err instanceof Error ? err.message : String(err)}\n${out.split("\n").slice(-20).join("\n")}`,
      { cause: err },
    );
  }
  return h;
}

async function waitCriReady(h: ContainerdHarness, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const r = await h.crictl(["info"], { timeoutMs: 10_000 });
    if (r.status === 0) {
      const info = JSON.parse(r.stdout) as {
        status?: { conditions?: { type: string; status: boolean }[] };
      };
      const conds = info.status?.conditions ?? [];
      const ok = (t: string) => conds.some((c) => c.type === t && c.status);
      if (ok("RuntimeReady") && ok("NetworkReady")) return;
      last = JSON.stringify(conds);
    } else last = r.stderr.trim();
    if (Date.now() > deadline) throw new Error(`CRI not ready after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Removes `parent` (and the empty cgroups below it) from every cgroup v1 hierarchy or v2. */
function removeCgroups(parent: string): void {
  const roots = existsSync("/sys/fs/cgroup/cgroup.controllers")
    ? ["/sys/fs/cgroup"]
    : readdirSync("/sys/fs/cgroup").map((c) => join("/sys/fs/cgroup", c));
  for (const root of roots) {
    const top = join(root, parent);
    if (!existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (d: string) => {
      dirs.push(d);
      for (const e of readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(join(d, e.name));
    };
    try {
      walk(top);
    } catch {
      continue;
    }
    for (const d of dirs.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // still holds a process: leave it rather than fail the cleanup
      }
    }
  }
}

function cleanupFolder(dir: string, bridge: string, cgroupParent: string): void {
  removeCgroups(cgroupParent);
  for (const mp of mountsUnder(dir)) {
    // Lazy: a mount still busy (a process we do not own holding it) must not stop the cleanup.
    runCommandSync("umount", ["-l", mp]);
  }
  if (existsSync(`/sys/class/net/${bridge}`)) runCommandSync("ip", ["link", "delete", bridge]);
  rmSync(dir, { recursive: true, force: true });
}

function runCommandSync(cmd: string, args: string[]): void {
  // Synchronous is fine here: cleanup runs after the servers this process hosts are done.
  spawnSync(cmd, args, { stdio: "ignore" });
}

export { BUSYBOX_IMAGE, PAUSE_IMAGE };
