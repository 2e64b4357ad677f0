/**
 * Pod resources and lifecycle demo, with real `coco` processes, a real registry and runc: the
 * owner generates a policy for a pod with CPU/memory limits and `restartPolicy: OnFailure`; the
 * host runs it, the container reads its own cgroup limits, fails twice and succeeds on the third
 * start. Then a host that raises the limits of a pod whose owner pinned them is refused.
 */

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { startRegistry } from "../test/helpers/registry.js";
import { cocoCli } from "../test/helpers/trustee-process.js";

const exec = promisify(execFile);

/** What the demo showed. */
export interface PodLimitsDemoResult {
  /** The container's output over its three starts (limits read from its cgroup, attempt count). */
  output: string;
  /** `coco run`'s exit status (0: the third start succeeded). */
  exitCode: number;
  /** The agent's refusal when the host raised pinned limits. */
  raisedRefused: string;
}

const SCRIPT = [
  // cgroup v2 files, or v1's on a hybrid host
  'if [ -e /sys/fs/cgroup/memory.max ]; then m=$(cat /sys/fs/cgroup/memory.max); c="$(cat /sys/fs/cgroup/cpu.max)";',
  'else m=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); c="$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; fi;',
  "n=$(cat /w/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /w/n;",
  'echo "start $n: memory limit $m, cpu quota/period $c"; [ $n -ge 3 ]',
].join(" ");

function manifest(name: string, image: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: coco-dev
  restartPolicy: OnFailure
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", ${JSON.stringify(SCRIPT)}]
    resources:
      limits: {cpu: 500m, memory: 64Mi}
    volumeMounts:
    - name: w
      mountPath: /w
  volumes:
  - name: w
    emptyDir: {}
`;
}

/** Runs the story; every line goes to `log`. Throws if a step does not behave as described. */
export async function demoPodLimits(log: (line: string) => void): Promise<PodLimitsDemoResult> {
  if (process.getuid?.() !== 0) throw new Error("the pod demo needs root (process sandbox, runc)");
  const dir = mkdtempSync(join(tmpdir(), "coco-limits-demo-"));
  const env = { ...process.env, COCO_STATE_DIR: join(dir, "pods") };
  const coco = async (args: string[]) => {
    try {
      const r = await exec(process.execPath, [cocoCli, ...args], { env, maxBuffer: 8 << 20 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
    }
  };
  const reg = await startRegistry("plain");
  try {
    const { tagged } = await pushBusyboxImage(reg.host, "demo/limits", "v1");
    const pod = join(dir, "pod.yaml");
    writeFileSync(pod, manifest("limits-demo", tagged));
    log("owner: pod with limits {cpu: 500m, memory: 64Mi} and restartPolicy OnFailure");
    const gen = await coco([
      "policy",
      "generate",
      pod,
      "--allow-logs",
      "-o",
      join(dir, "gen.yaml"),
    ]);
    if (gen.code !== 0) throw new Error(`policy generate failed: ${gen.stderr}`);
    log("host: coco run (container fails twice, restarted with backoff, then succeeds)");
    const run = await coco(["run", "-v", "--restart-backoff", "200", join(dir, "gen.yaml")]);
    for (const l of run.stdout.trim().split("\n")) log(`  container: ${l}`);
    for (const l of run.stderr.split("\n").filter((x) => /restart|exited/.test(x)))
      log(`  ${l.replace(/^coco: /, "host: ")}`);
    if (run.code !== 0 || !run.stdout.includes("start 3: memory limit 67108864"))
      throw new Error(`the pod did not succeed on its third start: ${run.stderr}`);
    log("owner: same pod, policy generated with --pin-resources; host raises memory to 1Gi");
    writeFileSync(pod, manifest("limits-pinned", tagged));
    const pinned = await coco([
      "policy",
      "generate",
      pod,
      "--pin-resources",
      "-o",
      join(dir, "pinned.yaml"),
    ]);
    if (pinned.code !== 0) throw new Error(`policy generate failed: ${pinned.stderr}`);
    const raised = readFileSync(join(dir, "pinned.yaml"), "utf8").replace(
      "memory: 64Mi",
      "memory: 1Gi",
    );
    writeFileSync(join(dir, "raised.yaml"), raised);
    const refused = await coco(["run", join(dir, "raised.yaml")]);
    const why = refused.stderr.split("\n").find((l) => /blocked by policy/.test(l)) ?? "";
    if (refused.code === 0 || !why) throw new Error("the raised limits were not refused");
    log(`  refused: ${why.slice(0, 160)}`);
    return { output: run.stdout, exitCode: run.code, raisedRefused: why };
  } finally {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
