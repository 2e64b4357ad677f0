/**
 * `npm run bench -- pod-restart [--runs N]`: what a container restart costs under
 * restartPolicy OnFailure with the process sandbox, from the moment the host learns the exit
 * status (WaitProcess) to the restarted container running again: RemoveContainer, CopyFile,
 * CreateContainer (policy check, image already in the guest) and StartContainer, with the backoff
 * set to 0. The peer, measured in the same run, is a bare `runc delete` + `runc run` cycle of
 * the same failing busybox command: the floor with no agent, no policy and no sandbox.
 */
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { generatePolicy } from "../src/host/genpolicy/generate.js";
import { fetchImageInfo } from "../src/host/runtime/image-config.js";
import { parsePod } from "../src/host/runtime/pod.js";
import { runPod } from "../src/host/runtime/run.js";
import { createProcessSandboxBackend } from "../src/host/sandbox/process.js";
import { BUSYBOX_BIN, pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { startRegistry } from "../test/helpers/registry.js";
import { measure, printHeader, report, summarize } from "./harness.js";

const exec = promisify(execFile);

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const runs = Number(args[args.indexOf("--runs") + 1] ?? "") || 10;
  printHeader("pod-restart");
  const backend = createProcessSandboxBackend();
  const why = await backend.unavailable();
  if (why) throw new Error(`process sandbox unavailable: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), "coco-bench-restart-"));
  const reg = await startRegistry("plain");
  try {
    const { tagged } = await pushBusyboxImage(reg.host, "bench/restart", "v1");
    // Fails until it has been started runs+1 times, counting starts in an emptyDir.
    const yaml = `apiVersion: v1
kind: Pod
metadata:
  name: restart-bench
spec:
  runtimeClassName: coco-dev
  restartPolicy: OnFailure
  containers:
  - name: app
    image: ${tagged}
    command: ["/bin/sh", "-c", "n=$(cat /w/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /w/n; [ $n -gt ${runs} ]"]
    volumeMounts:
    - name: w
      mountPath: /w
  volumes:
  - name: w
    emptyDir: {}
`;
    const pod = parsePod(yaml);
    const images = new Map([[tagged, await fetchImageInfo(tagged)]]);
    const gen = generatePolicy(yaml, pod, images);
    let exitedAt = 0;
    const samples: number[] = [];
    const r = await runPod(parsePod(gen.yaml), {
      backend,
      stateRoot: join(dir, "state"),
      restart: { initialMs: 0, maxMs: 0, maxRestarts: runs },
      onEvent: (e) => {
        if (/exited with status/.test(e)) exitedAt = performance.now();
        else if (/^container app started/.test(e) && exitedAt > 0)
          samples.push(performance.now() - exitedAt);
      },
    });
    if (r.exitCode !== 0 || samples.length !== runs)
      throw new Error(
        `expected ${runs} restarts and success, got ${samples.length}, ${r.exitCode}`,
      );
    const ours = summarize("restart through the agent (exit seen → running again)", samples);
    const peer = await runcCycle(dir, runs);
    report("pod-restart", ours, peer, "peer = bare runc delete + runc run of a failing container");
  } finally {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bare `runc delete` + `runc run` of `/bin/false` in a busybox bundle. */
async function runcCycle(dir: string, runs: number) {
  const bundle = join(dir, "bundle");
  mkdirSync(join(bundle, "rootfs", "bin"), { recursive: true });
  await exec("cp", [BUSYBOX_BIN, join(bundle, "rootfs", "bin", "busybox")]);
  await exec("runc", ["spec", "--bundle", bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as {
    process: { terminal: boolean; args: string[] };
  };
  spec.process.terminal = false;
  spec.process.args = ["/bin/busybox", "false"];
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  const root = join(dir, "runc-root");
  const id = `restart-${process.pid}`;
  return measure(
    "bare runc delete + runc run",
    async () => {
      await exec("runc", ["--root", root, "delete", "--force", id]).catch(() => {});
      await new Promise<void>((resolve, reject) => {
        const child = spawn("runc", ["--root", root, "run", "--bundle", bundle, id], {
          stdio: "ignore",
        });
        child.once("exit", () => resolve());
        child.once("error", reject);
      });
    },
    { runs, warmup: 1 },
  );
}
