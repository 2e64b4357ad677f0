/**
 * `npm run bench -- cri [--runs N]`: `crictl runp` + `create` + `start` to the container's first
 * output line in its CRI log, through a real containerd 2.x, for our `coco-dev` handler (the
 * process sandbox, guest pull through coco-snapshotter, the image cached in containerd after the
 * first run) against containerd's own `runc` handler in the same containerd and the same run.
 * Goal (#13): coco-dev ≤ 1.5 s with a cached image. coco-dev is measured when this build has
 * containerd-shim-coco-v2 (`coco install containerd` succeeds); otherwise the bench says why and
 * reports runc alone.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePolicy } from "../src/host/genpolicy/generate.js";
import { installContainerd } from "../src/host/install/containerd.js";
import { fetchImageInfo } from "../src/host/runtime/image-config.js";
import { INITDATA_ANNOTATION, parsePod } from "../src/host/runtime/pod.js";
import { startSnapshotterServer } from "../src/host/snapshotter/grpc-server.js";
import { createSnapshotter } from "../src/host/snapshotter/service.js";
import { SnapshotStore } from "../src/host/snapshotter/store.js";
import { pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { KUBELET_MASKED, KUBELET_READONLY } from "../test/helpers/coco-cri.js";
import {
  BUSYBOX_IMAGE,
  type ContainerdHarness,
  startContainerd,
} from "../test/helpers/containerd.js";
import { startRegistry } from "../test/helpers/registry.js";
import { fmt, printHeader, report, summarize } from "./harness.js";

/** One timed run: runp + create + start until the first line is in the CRI log; then cleanup. */
async function once(
  c: ContainerdHarness,
  handler: string,
  image: string,
  annotations: Record<string, string>,
): Promise<number> {
  // The pod's name is the one its policy names (one pod at a time).
  const name = "cri-bench";
  const logDir = join(c.podLogDir, `${name}-${randomUUID().slice(0, 8)}`);
  const pod = join(logDir, "..", `${randomUUID()}.pod.json`);
  writeFileSync(
    pod,
    JSON.stringify({
      metadata: { name, namespace: "default", uid: randomUUID() },
      hostname: name,
      log_directory: logDir,
      annotations: { "io.containerd.cri.runtime-handler": handler, ...annotations },
      linux: { cgroup_parent: c.cgroupParent },
    }),
  );
  const ctr = join(logDir, "..", `${randomUUID()}.ctr.json`);
  writeFileSync(
    ctr,
    JSON.stringify({
      metadata: { name: "app" },
      image: { image },
      command: ["/bin/sh", "-c", "echo first-output; sleep 30"],
      log_path: "app.log",
      // What kubelet puts in every container's security context (the pod policy requires at
      // least containerd's defaults masked; without these CRI masks nothing).
      linux: {
        security_context: { masked_paths: KUBELET_MASKED, readonly_paths: KUBELET_READONLY },
      },
    }),
  );
  const t0 = process.hrtime.bigint();
  const podId = (await c.crictlOk(["runp", "--runtime", handler, pod])).trim();
  const id = (await c.crictlOk(["create", podId, ctr, pod])).trim();
  await c.crictlOk(["start", id]);
  const log = join(logDir, "app.log");
  for (;;) {
    if (existsSync(log) && readFileSync(log, "utf8").includes("first-output")) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await c.crictlOk(["stopp", podId]);
  await c.crictlOk(["rmp", podId]);
  return ms;
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const runs = Number(args[args.indexOf("--runs") + 1] ?? "") || 5;
  printHeader("cri");
  const dir = mkdtempSync(join(tmpdir(), "coco-bench-cri-"));
  const reg = await startRegistry("plain");
  let c: ContainerdHarness | undefined;
  let snap: Awaited<ReturnType<typeof startSnapshotterServer>> | undefined;
  try {
    // coco-dev: installed as a node would be (drop-in, launchers) into this folder, when possible.
    let cocoWhy: string | undefined;
    const imports: string[] = [];
    try {
      mkdirSync(join(dir, "conf.d"), { recursive: true });
      writeFileSync(
        join(dir, "config.toml"),
        `version = 3\nimports = ["${join(dir, "conf.d")}/*.toml"]\n`,
      );
      mkdirSync(join(dir, "snap", "empty"), { recursive: true });
      snap = await startSnapshotterServer(
        createSnapshotter(
          new SnapshotStore(join(dir, "snap", "s.json")),
          join(dir, "snap", "empty"),
        ),
        join(dir, "snap.sock"),
      );
      const { dropIn } = installContainerd({
        containerdConfig: join(dir, "config.toml"),
        confDir: join(dir, "conf.d"),
        binDir: join(dir, "bin"),
        etcDir: join(dir, "etc"),
        snapshotterSocket: snap.socket,
        handlers: [{ name: "coco-dev", runtimeClass: "coco-dev" }],
      });
      imports.push(dropIn);
    } catch (err) {
      cocoWhy = err instanceof Error ? err.message : String(err);
    }
    // containerd hands its environment to shims: the shim's state folder, and the loopback
    // registry the guest pulls from over plain HTTP.
    c = await startContainerd({
      imports,
      env: {
        COCO_SHIM_STATE_DIR: join(dir, "shim-state"),
        COCO_SHIM_INSECURE_REGISTRIES: reg.host,
      },
    });
    const samples: Record<string, number[]> = { runc: [] };
    for (let i = 0; i <= runs; i++) {
      const ms = await once(c, "runc", BUSYBOX_IMAGE, {});
      if (i > 0) samples.runc?.push(ms); // the first run warms up
    }
    const runc = summarize("runc handler: runp+create+start to first output", samples.runc ?? []);
    if (cocoWhy === undefined) {
      const { tagged } = await pushBusyboxImage(reg.host, "bench/cri", "v1");
      const yaml = `apiVersion: v1
kind: Pod
metadata:
  name: cri-bench
spec:
  runtimeClassName: coco-dev
  containers:
  - name: app
    image: ${tagged}
    command: ["/bin/sh", "-c", "echo first-output; sleep 30"]
`;
      const pod = parsePod(yaml);
      const gen = generatePolicy(yaml, pod, new Map([[tagged, await fetchImageInfo(tagged)]]), {
        allowLogs: true,
      });
      const pinned = parsePod(gen.yaml);
      const ann = { [INITDATA_ANNOTATION]: pinned.annotations[INITDATA_ANNOTATION] ?? "" };
      const image = pinned.containers[0]?.image ?? tagged;
      // Cache the image for the coco-dev handler (manifest and config only, through coco-snapshotter).
      const pullPod = join(dir, "pull.pod.json");
      writeFileSync(
        pullPod,
        JSON.stringify({
          metadata: { name: "pull", namespace: "default", uid: randomUUID() },
          annotations: { "io.containerd.cri.runtime-handler": "coco-dev" },
        }),
      );
      await c.crictlOk(["pull", "--pod-config", pullPod, image], { timeoutMs: 120_000 });
      const coco: number[] = [];
      for (let i = 0; i <= runs; i++) {
        const ms = await once(c, "coco-dev", image, ann);
        if (i > 0) coco.push(ms); // the first run pulls the image (manifest + config)
      }
      const s = summarize(
        "coco-dev handler: runp+create+start to first output (cached image)",
        coco,
      );
      report("cri", s, runc, "goal: coco-dev median <= 1500 ms");
    } else {
      console.log(fmt(runc));
      console.log(`# coco-dev not measured: ${cocoWhy}`);
    }
  } finally {
    await c?.stop();
    await snap?.close();
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
