/**
 * `npm run bench -- shim [--runs N]`: a pod's start through containerd's CRI, driven with crictl
 * as kubelet drives it (`runp` + `create` + `start`, then until the container's first line is in
 * its CRI log file), with our `coco-dev` handler (containerd-shim-coco-v2, process sandbox, guest
 * pull from a loopback registry) against containerd's own `runc` handler in the same containerd,
 * interleaved round by round so background load hits both alike. The node has the image (CRI
 * pulled it once). Shim-level: no kubelet (the Kubernetes-level bench is another's). Prints the
 * median per phase and the ratio runc / coco-dev of the totals; pods are removed between rounds,
 * untimed. `COCO_BENCH_TRACE=1` also prints the end of containerd's log (with the shim's lines):
 * when the shim served, the sandbox's agent listened, CRI returned.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { type CocoCri, cocoCriSkip, makePod, startCocoCri } from "../test/helpers/coco-cri.js";
import { BUSYBOX_IMAGE } from "../test/helpers/oci-archive.js";
import { printHeader, report, type Stats, summarize } from "./harness.js";

const MARK = "first-output";
const PHASES = ["runp", "create", "start", "output"] as const;
type Phase = (typeof PHASES)[number];
type Sample = Record<Phase | "total", number>;

/** Waits until `file` holds `text` (the CRI log line of the container's first output). */
async function firstOutput(file: string, limitMs = 120_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (existsSync(file) && readFileSync(file, "utf8").includes(MARK)) return;
    if (Date.now() > deadline) throw new Error(`no output in ${file} after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** runp + create + start + first output of one pod, timed per phase; the pod is removed after. */
async function startPod(
  c: CocoCri,
  handler: string,
  podJson: string,
  ctrJson: string,
  log: string,
): Promise<Sample> {
  const h = c.h;
  const t = [performance.now()];
  const sid = (
    await h.crictlOk(["runp", "--runtime", handler, podJson], { timeoutMs: 240_000 })
  ).trim();
  t.push(performance.now());
  try {
    const cid = (
      await h.crictlOk(["create", sid, ctrJson, podJson], { timeoutMs: 240_000 })
    ).trim();
    t.push(performance.now());
    await h.crictlOk(["start", cid], { timeoutMs: 240_000 });
    t.push(performance.now());
    await firstOutput(log);
    t.push(performance.now());
  } finally {
    await h.crictlOk(["rmp", "-f", sid], { timeoutMs: 240_000 });
  }
  const d = (i: number) => (t[i + 1] as number) - (t[i] as number);
  return {
    runp: d(0),
    create: d(1),
    start: d(2),
    output: d(3),
    total: (t[4] as number) - (t[0] as number),
  };
}

/** A runc pod (containerd's own handler) with the locally imported busybox. */
function runcPod(c: CocoCri, name: string): { podJson: string; ctrJson: string; log: string } {
  const podJson = join(c.work, `${name}.pod.json`);
  const logDir = join(c.h.podLogDir, name);
  writeFileSync(
    podJson,
    JSON.stringify({
      metadata: { name, namespace: "default", uid: randomUUID(), attempt: 0 },
      hostname: name,
      log_directory: logDir,
      linux: { cgroup_parent: c.h.cgroupParent },
    }),
  );
  const ctrJson = join(c.work, `${name}.ctr.json`);
  writeFileSync(
    ctrJson,
    JSON.stringify({
      metadata: { name: "app" },
      image: { image: BUSYBOX_IMAGE },
      command: ["/bin/sh", "-c", `echo ${MARK}`],
      log_path: "app.log",
      linux: {},
    }),
  );
  return { podJson, ctrJson, log: join(logDir, "app.log") };
}

function stats(name: string, samples: Sample[], key: Phase | "total"): Stats {
  return summarize(
    name,
    samples.map((s) => s[key]),
  );
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const runs = Number(args[args.indexOf("--runs") + 1] ?? "") || 5;
  printHeader("shim");
  const skip = cocoCriSkip();
  if (skip) throw new Error(`cannot run: ${skip}`);
  const c = await startCocoCri();
  try {
    const coco: Sample[] = [];
    const runc: Sample[] = [];
    console.log(`# ${runs} rounds (+1 warm-up), interleaved; load ${loadavg()[0]!.toFixed(2)}`);
    for (let r = 0; r <= runs; r++) {
      const name = `bench-${r}`;
      const p = await makePod(`${name}-coco`, `echo ${MARK}`, { allowLogs: true });
      const cocoLog = join(c.h.podLogDir, p.name, "app.log");
      const sc = await startPod(c, "coco-dev", p.podJson, p.ctrJson(), cocoLog);
      const rp = runcPod(c, `${name}-runc`);
      const sr = await startPod(c, "runc", rp.podJson, rp.ctrJson, rp.log);
      const fmt = (s: Sample) => PHASES.map((k) => `${k} ${s[k].toFixed(0)}`).join(", ");
      console.log(
        `# round ${r}${r === 0 ? " (warm-up)" : ""}: coco-dev ${sc.total.toFixed(0)} ms (${fmt(sc)}); runc ${sr.total.toFixed(0)} ms (${fmt(sr)})`,
      );
      if (r === 0) continue;
      coco.push(sc);
      runc.push(sr);
    }
    if (process.env.COCO_BENCH_TRACE)
      console.log(
        c.h
          .output()
          .split("\n")
          .filter((l) => /coco-shim|RunPodSandbox|CreateContainer|StartContainer|shim/.test(l))
          .slice(-60)
          .join("\n"),
      );
    console.log(`# load average at the end: ${loadavg()[0]!.toFixed(2)}`);
    console.log("# median per phase, ms:        runp   create    start   output");
    for (const [name, s] of [
      ["coco-dev", coco],
      ["runc", runc],
    ] as const) {
      console.log(
        `#   ${name.padEnd(26)}${PHASES.map((k) => stats(name, s, k).medianMs.toFixed(0).padStart(8)).join(" ")}`,
      );
    }
    const ours = stats("coco-dev: runp+create+start to first output", coco, "total");
    ours.extra = Object.fromEntries(
      PHASES.map((k) => [`${k}_ms`, +stats("", coco, k).medianMs.toFixed(0)]),
    );
    const peer = stats("runc: runp+create+start to first output", runc, "total");
    peer.extra = Object.fromEntries(
      PHASES.map((k) => [`${k}_ms`, +stats("", runc, k).medianMs.toFixed(0)]),
    );
    report("shim", ours, peer, "same containerd, same run; goal: coco-dev <= 1500 ms (issue #13)");
  } finally {
    await c.stop();
  }
}
