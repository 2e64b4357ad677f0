/**
 * `npm run bench -- kube [--runs N]`: `kubectl apply` of a Pod to its container's first log line
 * on the node (the CRI log file kubelet's containerd writes), on a real one-node cluster
 * (kube-apiserver, kubelet from source; test/helpers/kube-coco.ts) whose containerd was set up
 * by `coco install containerd`: our `coco-dev` RuntimeClass (containerd-shim-coco-v2, the
 * process sandbox, guest pull through coco-snapshotter with the image's manifest and config
 * cached after the warm-up run) against containerd's own `runc` handler (no RuntimeClass, the
 * image already unpacked on the node), same cluster, same run. Each pod is deleted (and gone
 * from the node) before the next; the policy for each coco-dev pod is generated beforehand.
 * Goal (#14): coco-dev within 1.5x of runc plus the sandbox's own start.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUSYBOX_IMAGE } from "../test/helpers/containerd.js";
import type { KubeCluster } from "../test/helpers/kube.js";
import { NODE_NAME } from "../test/helpers/kube.js";
import { type CocoNode, kubeCocoSkip, startCocoNode } from "../test/helpers/kube-coco.js";
import { printHeader, report, summarize } from "./harness.js";

const LINE = "first-output";

function manifest(name: string, image: string, runtimeClass?: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
${runtimeClass ? `  runtimeClassName: ${runtimeClass}\n` : ""}  nodeName: ${NODE_NAME}
  restartPolicy: Never
  dnsPolicy: Default
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${image}
    imagePullPolicy: ${runtimeClass ? "IfNotPresent" : "Never"}
    command: ["/bin/sh", "-c", "echo ${LINE}; sleep 600"]
`;
}

/** The first line of pod `name`'s container log on the node, once it is there. */
function logged(k: KubeCluster, name: string): boolean {
  const dir = join(k.dir, "pod-logs");
  if (!existsSync(dir)) return false;
  const pod = readdirSync(dir).find((d) => d.startsWith(`default_${name}_`));
  if (!pod) return false;
  const log = join(dir, pod, "app", "0.log");
  return existsSync(log) && readFileSync(log, "utf8").includes(LINE);
}

/** One timed run: apply, wait for the first log line; then delete (untimed). */
async function once(n: CocoNode, name: string, yaml: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  await n.k.kubectlOk(["apply", "-f", "-"], { input: yaml });
  const deadline = Date.now() + 240_000;
  while (!logged(n.k, name)) {
    if (Date.now() > deadline) {
      const st = await n.k.kubectl(["get", "pod", name, "-o", "jsonpath={.status}"]);
      throw new Error(`pod ${name} printed nothing in 240 s: ${st.stdout || st.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await n.k.kubectlOk(["delete", "pod", name, "--wait=true", "--timeout=120s"], {
    timeoutMs: 180_000,
  });
  return ms;
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const i = args.indexOf("--runs");
  const runs = (i >= 0 ? Number(args[i + 1]) : 0) || 5;
  printHeader("kube");
  const skip = kubeCocoSkip();
  if (skip) {
    console.log(`# not run: ${skip}`);
    return;
  }
  const n = await startCocoNode({ controllerManager: false });
  try {
    console.log(
      `# cluster up in ${n.timings.runtimeClasses} ms (etcd, kube-apiserver, kubelet, containerd, coco-snapshotter)`,
    );
    const runc: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const ms = await once(n, `runc-${r}`, manifest(`runc-${r}`, BUSYBOX_IMAGE));
      if (r > 0) runc.push(ms); // the first run warms up
    }
    const coco: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const name = `coco-${r}`;
      const src = join(n.work, `${name}.yaml`);
      writeFileSync(src, manifest(name, n.image, "coco-dev"));
      const yaml = await n.coco(["policy", "generate", "--allow-logs", src]);
      const ms = await once(n, name, yaml);
      if (r > 0) coco.push(ms); // the first run pulls the manifest and config
    }
    // The sandbox's own start, in the same containerd: `crictl runp` (what kubelet's
    // RunPodSandbox does) for coco-dev (the process sandbox: agent, AA and CDH up, CreateSandbox)
    // against runc (the pause container), each pod stopped and removed before the next.
    const name = "sandbox-start";
    const src = join(n.work, `${name}.yaml`);
    writeFileSync(src, manifest(name, n.image, "coco-dev"));
    const initData = /cc_init_data: (\S+)/.exec(
      await n.coco(["policy", "generate", "--allow-logs", src]),
    )?.[1];
    if (!initData) throw new Error("coco policy generate wrote no init-data annotation");
    const runp = async (handler: string, r: number): Promise<number> => {
      const pod = join(n.work, `runp-${handler}-${r}.json`);
      writeFileSync(
        pod,
        JSON.stringify({
          metadata: { name, namespace: "default", uid: randomUUID() },
          hostname: name,
          log_directory: join(n.h.podLogDir, `${handler}-${r}`),
          annotations:
            handler === "runc"
              ? {}
              : { "io.katacontainers.config.hypervisor.cc_init_data": initData },
          linux: { cgroup_parent: n.h.cgroupParent },
        }),
      );
      const t0 = process.hrtime.bigint();
      const id = (
        await n.h.crictlOk(["runp", "--runtime", handler, pod], { timeoutMs: 240_000 })
      ).trim();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      await n.h.crictlOk(["stopp", id], { timeoutMs: 120_000 });
      await n.h.crictlOk(["rmp", id], { timeoutMs: 120_000 });
      return ms;
    };
    const sandbox: Record<string, number[]> = { runc: [], "coco-dev": [] };
    for (let r = 0; r <= runs; r++) {
      for (const handler of ["runc", "coco-dev"]) {
        const ms = await runp(handler, r);
        if (r > 0) sandbox[handler]!.push(ms);
      }
    }
    const sRunc = summarize("runc: crictl runp", sandbox.runc!);
    const sCoco = summarize("coco-dev: crictl runp", sandbox["coco-dev"]!);
    const own = sCoco.medianMs - sRunc.medianMs;
    const cocoStats = summarize("coco-dev: kubectl apply to first log line", coco);
    const runcStats = summarize("runc: kubectl apply to first log line", runc);
    console.log(
      `# sandbox start (crictl runp medians): coco-dev ${sCoco.medianMs.toFixed(0)} ms, runc ${sRunc.medianMs.toFixed(0)} ms: the sandbox's own start ${own.toFixed(0)} ms`,
    );
    const goal = 1.5 * runcStats.medianMs + own;
    console.log(
      `# goal: coco-dev <= 1.5 x runc + sandbox start = ${goal.toFixed(0)} ms; measured ${cocoStats.medianMs.toFixed(0)} ms (${cocoStats.medianMs <= goal ? "met" : "not met"})`,
    );
    report(
      "kube",
      cocoStats,
      runcStats,
      "goal (#14): coco-dev within 1.5x of runc plus the sandbox's own start",
    );
  } finally {
    await n.stop();
  }
}
