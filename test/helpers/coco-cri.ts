/**
 * The containerd harness (containerd.ts) with our runtime handler `coco-dev` → runtime type
 * `io.containerd.coco.v2`, the shim on containerd's PATH, a CNCF registry holding busybox, and
 * helpers to make a pod as its owner does (`coco policy generate`) and drive it with crictl as
 * kubelet does.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { type GenerateOptions, generatePolicy } from "../../src/host/genpolicy/generate.js";
import { runtimeConfigToml } from "../../src/host/install/containerd-config.js";
import { fetchImageInfo } from "../../src/host/runtime/image-config.js";
import { parsePod } from "../../src/host/runtime/pod.js";
import { shimSocketAddress } from "../../src/host/shim/bootstrap.js";
import { podStateDir } from "../../src/host/shim/paths.js";
import {
  type SnapshotterServer,
  startSnapshotterServer,
} from "../../src/host/snapshotter/grpc-server.js";
import { createSnapshotter } from "../../src/host/snapshotter/service.js";
import { SnapshotStore } from "../../src/host/snapshotter/store.js";
import { pushBusyboxImage } from "./busybox-image.js";
import {
  CONTAINERD_BINS,
  type ContainerdHarness,
  containerdSkip,
  startContainerd,
} from "./containerd.js";
import { startRegistry, type TestRegistry } from "./registry.js";

const SHIM_MAIN = fileURLToPath(new URL("../../src/host/shim/main.js", import.meta.url));
/** The init-data pod annotation. */
export const INITDATA = "io.katacontainers.config.hypervisor.cc_init_data";
/** The masked and read-only paths kubelet puts in every container's security context. */
export const KUBELET_MASKED = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
export const KUBELET_READONLY = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/** One containerd with the coco-dev handler, its registry and work folder. */
export interface CocoCri {
  h: ContainerdHarness;
  registry: TestRegistry;
  image: string;
  work: string;
  shimState: string;
  stop(): Promise<void>;
}

let work = "";
let image = "";
let h: ContainerdHarness | undefined;

/** A pod as its owner writes it, its generated policy, and crictl's configs for it. */
export interface TestPod {
  name: string;
  initData: string;
  pinned: string;
  podJson: string;
  ctrJson: (extra?: Record<string, unknown>) => string;
  /** The CRI runtime handler (`crictl runp --runtime`). */
  handler: string;
}

export async function makePod(
  name: string,
  script: string,
  o: GenerateOptions = {},
  more: { env?: { name: string; value: string }[]; image?: string; handler?: string } = {},
): Promise<TestPod> {
  const img = more.image ?? image;
  const handler = more.handler ?? "coco-dev";
  const env = more.env ?? [];
  const envYaml =
    env.length === 0
      ? ""
      : `    env:\n${env.map((e) => `    - name: ${e.name}\n      value: ${JSON.stringify(e.value)}\n`).join("")}`;
  const yaml = `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
spec:
  runtimeClassName: ${handler}
  containers:
  - name: app
    image: ${img}
    command: ["/bin/sh", "-c", ${JSON.stringify(script)}]
${envYaml}`;
  const pod = parsePod(yaml);
  const gen = generatePolicy(yaml, pod, new Map([[img, await fetchImageInfo(img)]]), o);
  const doc = parseDocument(gen.yaml).toJS() as {
    metadata: { annotations: Record<string, string> };
    spec: { containers: { image: string }[] };
  };
  const initData = doc.metadata.annotations[INITDATA] as string;
  const pinned = doc.spec.containers[0]!.image;
  const c = h!;
  const podJson = join(work, `${name}.pod.json`);
  writeFileSync(
    podJson,
    JSON.stringify({
      metadata: { name, namespace: "default", uid: randomUUID(), attempt: 0 },
      hostname: name,
      log_directory: join(c.podLogDir, name),
      // The handler annotation is how crictl tells CRI which handler (so which snapshotter) an
      // image pull is for (`crictl pull --pod-config`).
      annotations: { [INITDATA]: initData, "io.containerd.cri.runtime-handler": handler },
      linux: { cgroup_parent: c.cgroupParent },
    }),
  );
  const ctrJson = (extra: Record<string, unknown> = {}) => {
    const path = join(work, `${name}-${randomUUID()}.ctr.json`);
    writeFileSync(
      path,
      JSON.stringify({
        metadata: { name: "app" },
        image: { image: pinned },
        command: ["/bin/sh", "-c", script],
        ...(env.length > 0 ? { envs: env.map((e) => ({ key: e.name, value: e.value })) } : {}),
        log_path: "app.log",
        linux: {
          security_context: { masked_paths: KUBELET_MASKED, readonly_paths: KUBELET_READONLY },
        },
        ...extra,
      }),
    );
    return path;
  };
  return { name, initData, pinned, podJson, ctrJson, handler };
}

export async function inspect(id: string): Promise<{ state: string; exitCode: number }> {
  const st = JSON.parse(await h!.crictlOk(["inspect", id])) as {
    status: { state: string; exitCode: number };
  };
  return st.status;
}

export async function waitState(
  id: string,
  state: string,
  ms = 60_000,
): Promise<{ state: string; exitCode: number }> {
  const deadline = Date.now() + ms;
  for (;;) {
    const st = await inspect(id);
    if (st.state === state) return st;
    if (Date.now() > deadline) throw new Error(`container ${id} is ${st.state}, not ${state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function waitLogs(id: string, text: string, ms = 60_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await h!.crictl(["logs", id]);
    if (r.stdout.includes(text)) return r.stdout;
    if (Date.now() > deadline)
      throw new Error(
        `logs of ${id} never showed ${JSON.stringify(text)}: ${JSON.stringify(r.stdout)}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** runp + create + start; returns the ids. */
export async function runPod(
  p: TestPod,
  ctrExtra?: Record<string, unknown>,
): Promise<{ sid: string; cid: string }> {
  const sid = (
    await h!.crictlOk(["runp", "--runtime", p.handler, p.podJson], { timeoutMs: 240_000 })
  ).trim();
  const cid = (
    await h!.crictlOk(["create", sid, p.ctrJson(ctrExtra), p.podJson], { timeoutMs: 240_000 })
  ).trim();
  await h!.crictlOk(["start", cid], { timeoutMs: 240_000 });
  return { sid, cid };
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `needle` (sandbox agents started from the shim state). */
export function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(needle)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Nothing of pod `sid` is left: no shim, no sandbox process, no state folder, socket or mount. */
export async function assertPodGone(sid: string): Promise<void> {
  const c = h!;
  const dir = podStateDir(process.env.COCO_SHIM_STATE_DIR ?? "", "k8s.io", sid);
  const socket = shimSocketAddress("/run/containerd/s", c.address, "k8s.io", sid).slice(
    "unix://".length,
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    const left = {
      shims: c.shimPids().filter((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes(sid)),
      processes: pidsMentioning(dir),
      folder: existsSync(dir),
      socket: existsSync(socket),
      mounts: mountsUnder(dir),
    };
    const clean =
      left.shims.length === 0 &&
      left.processes.length === 0 &&
      !left.folder &&
      !left.socket &&
      left.mounts.length === 0;
    if (clean) return;
    if (Date.now() > deadline) assert.fail(`pod ${sid} left ${JSON.stringify(left)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `ctr events` for the k8s.io namespace, collected while it runs. */
export function watchEvents(): { lines: string[]; proc: ChildProcess } {
  const lines: string[] = [];
  const proc = spawn(CONTAINERD_BINS.ctr, ["--address", h!.address, "-n", "k8s.io", "events"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let buf = "";
  proc.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    lines.push(...parts);
  });
  return { lines, proc };
}

/** A skip reason when containerd's peers are missing (see containerdSkip). */
export function cocoCriSkip(): string | false {
  return containerdSkip();
}

/**
 * Starts a registry with busybox and a containerd whose `coco-dev` handler runs our shim; the
 * shim keeps its state under the returned `shimState`.
 */
export async function startCocoCri(
  o: {
    snapshotter?: boolean;
    imports?: (work: string) => string[];
    /** CRI runtime handlers running our shim (default `coco-dev`; `coco-remote`: peer pods). */
    handlers?: string[];
  } = {},
): Promise<CocoCri> {
  work = mkdtempSync(join(tmpdir(), "coco-shim-cri-"));
  const shimState = join(work, "shim-state");
  const savedEnv = { ...process.env };
  const registry = await startRegistry("plain");
  let snap: SnapshotterServer | undefined;
  try {
    if (o.snapshotter) {
      // coco-snapshotter (guest pull: containerd keeps no layer), in this process.
      mkdirSync(join(work, "snap", "empty"), { recursive: true });
      snap = await startSnapshotterServer(
        createSnapshotter(
          new SnapshotStore(join(work, "snap", "snapshots.json")),
          join(work, "snap", "empty"),
        ),
        join(work, "snap", "snap.sock"),
      );
    }
    image = (await pushBusyboxImage(registry.host)).tagged;
    const bin = join(work, "bin");
    mkdirSync(bin);
    // What `coco install containerd` puts on containerd's PATH: the package's bin entry.
    writeFileSync(
      join(bin, "containerd-shim-coco-v2"),
      `#!/bin/sh\nexec ${process.execPath} ${SHIM_MAIN} "$@"\n`,
    );
    chmodSync(join(bin, "containerd-shim-coco-v2"), 0o755);
    // containerd hands its environment to shims: the shim's state folder and the loopback
    // registry the guest reaches over plain HTTP.
    process.env.COCO_SHIM_STATE_DIR = shimState;
    process.env.COCO_SHIM_INSECURE_REGISTRIES = registry.host;
    h = await startContainerd({
      runtimes: (o.handlers ?? ["coco-dev"]).map((name) => {
        // A handler other than the default names its sandbox as `coco install containerd` does:
        // in its runtime config file (options.ConfigPath), since containerd's CRI does not put
        // the handler's name in the sandbox's spec.
        let options: Record<string, unknown> | undefined;
        if (name !== "coco-dev") {
          const file = join(work, `runtime-${name}.toml`);
          writeFileSync(file, runtimeConfigToml({ name, runtimeClass: name }));
          options = { ConfigPath: file };
        }
        return {
          name,
          runtimeType: "io.containerd.coco.v2",
          podAnnotations: ["io.katacontainers.*"],
          ...(options ? { options } : {}),
          ...(snap ? { snapshotter: "coco" } : {}),
        };
      }),
      pathPrefix: [bin],
      ...(o.imports ? { imports: o.imports(work) } : {}),
      ...(snap
        ? {
            snapshotAnnotations: true,
            proxyPlugins: { coco: { type: "snapshot", address: snap.socket } },
          }
        : {}),
    });
    if (!snap) {
      // Without the coco snapshotter CRI unpacks the (plain) image on the node before `create`.
      await h.crictlOk(["pull", (await makePod("warmup", "true")).pinned], { timeoutMs: 120_000 });
    }
  } catch (err) {
    await h?.stop();
    await snap?.close();
    await registry.stop();
    process.env = savedEnv;
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  const harness = h;
  return {
    h: harness,
    registry,
    image,
    work,
    shimState,
    async stop() {
      await harness.stop();
      await snap?.close();
      await registry.stop();
      process.env = savedEnv;
      rmSync(work, { recursive: true, force: true });
    },
  };
}
