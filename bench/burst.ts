/**
 * `npm run bench -- burst [--pods N]`: N (default 16) confidential pods started at once, each a
 * `coco run` process (process sandbox) of the same busybox image encrypted with a Trustee-held
 * key and cosign-signed, with a sealed secret in its environment: every pod boots its agent,
 * attests, verifies the signature, fetches the image key, pulls and decrypts the image,
 * unseals the secret and prints a digest of it. The peer, in the same run: N bare `runc run`s
 * of an unpacked busybox bundle started at once (no sandbox, policy, pull or attestation).
 * It prints where the time goes: per pod the moments `coco run -v` reports (sandbox up,
 * container started, first output, exit), and the CPU time of all the processes involved.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { parsePod } from "../src/host/runtime/pod.js";
import { podInitData } from "../src/host/runtime/run.js";
import { BUSYBOX_BIN, pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { publishOwnerImage } from "../test/helpers/owner-image.js";
import { startRegistry } from "../test/helpers/registry.js";
import { cocoCli, startTrusteeProcess } from "../test/helpers/trustee-process.js";
import { printHeader, report, type Stats, summarize } from "./harness.js";

const exec = promisify(execFile);

/** CPU time (user + system) of this process's reaped children, in ms. */
function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** CPU time of one (long-running) process, in ms. */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** What one pod's `coco run -v` showed, in ms since its spawn. */
interface PodTimes {
  sandbox?: number;
  started?: number;
  output?: number;
  exit: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns `coco run -v` and timestamps its milestones. */
function runPodCli(file: string, env: NodeJS.ProcessEnv): Promise<PodTimes> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const at = () => Math.round(performance.now() - t0);
    const child = spawn(process.execPath, [cocoCli, "run", "-v", file], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const t: Partial<PodTimes> = {};
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      t.output ??= at();
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (t.sandbox === undefined && /sandbox \w+ started/.test(stderr)) t.sandbox = at();
      if (t.started === undefined && /container \S+ started/.test(stderr)) t.started = at();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      resolve({ ...t, exit: at(), code: code ?? -1, stdout, stderr } as PodTimes),
    );
  });
}

/** N bare `runc run`s of one busybox bundle, started at once; ms until the last exits. */
async function runcBurst(dir: string, n: number): Promise<{ ms: number; cpuMs: number }> {
  const bundle = join(dir, "floor");
  mkdirSync(join(bundle, "rootfs", "bin"), { recursive: true });
  await exec("cp", [BUSYBOX_BIN, join(bundle, "rootfs", "bin", "busybox")]);
  await exec("runc", ["spec", "--bundle", bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as {
    process: { terminal: boolean; args: string[] };
  };
  spec.process.terminal = false;
  spec.process.args = ["/bin/busybox", "echo", "ready"];
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  const c0 = childrenCpuMs();
  const t0 = performance.now();
  await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(
            "runc",
            [
              "--root",
              join(dir, "runc-root"),
              "run",
              "--bundle",
              bundle,
              `burst-${process.pid}-${i}`,
            ],
            { stdio: ["ignore", "pipe", "inherit"] },
          );
          let out = "";
          child.stdout.on("data", (d: Buffer) => {
            out += d.toString();
          });
          child.once("exit", (code) =>
            code === 0 && out.includes("ready")
              ? resolve()
              : reject(new Error(`runc run exited ${code}`)),
          );
        }),
    ),
  );
  return { ms: performance.now() - t0, cpuMs: childrenCpuMs() - c0 };
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const n = Number(args[args.indexOf("--pods") + 1] ?? "") || 16;
  printHeader("burst");
  if (process.getuid?.() !== 0) {
    console.log("# skipped: the process sandbox needs root");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "coco-bench-burst-"));
  const trustee = await startTrusteeProcess(dir);
  const reg = await startRegistry("plain");
  try {
    // The owner's side, as in the pod demo: encrypted, signed image; sealed secret; policy.
    const plain = await pushBusyboxImage(reg.host, "burst/app", "v1");
    const image = `${reg.host}/burst/app:encrypted`;
    await publishOwnerImage(trustee, {
      source: plain.tagged,
      target: image,
      work: dir,
      scope: `${reg.host}/burst`,
      name: "burst",
    });
    const secret = `burst-secret-${Date.now()}`;
    const sealed = await trustee.sealSecret(
      "default/app/secret",
      secret,
      "default/sealing-key/burst",
    );
    const env = { ...process.env, COCO_STATE_DIR: join(dir, "pods") };
    // The pods are the replicas of one StatefulSet (burst-0, burst-1, ...): one generated
    // policy admits every replica's name, so all carry the same init-data (one digest to pin),
    // as replicas under Kubernetes do.
    const manifest = join(dir, "burst.yaml");
    writeFileSync(
      manifest,
      `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: burst
spec:
  replicas: ${n}
  selector:
    matchLabels:
      app: burst
  template:
    metadata:
      labels:
        app: burst
    spec:
      runtimeClassName: coco-dev
      containers:
      - name: app
        image: ${image}
        command: ["/bin/sh", "-c", "printf %s \\"$SECRET\\" | sha256sum"]
        env:
        - name: SECRET
          value: ${sealed}
`,
    );
    const gen = join(dir, "burst.gen.yaml");
    await exec(
      process.execPath,
      [
        cocoCli,
        "policy",
        "generate",
        manifest,
        "-o",
        gen,
        "--allow-logs",
        "--trustee",
        trustee.url,
        "--insecure-registry",
        reg.host,
        "--image-policy-uri",
        "kbs:///default/security-policy/burst",
      ],
      { env },
    );
    const template = (
      parseYaml(readFileSync(gen, "utf8")) as {
        spec: { template: { metadata: Record<string, unknown>; spec: unknown } };
      }
    ).spec.template;
    const files: string[] = [];
    for (let i = 0; i < n; i++) {
      const file = join(dir, `burst-${i}.yaml`);
      writeFileSync(
        file,
        stringifyYaml({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { ...template.metadata, name: `burst-${i}` },
          spec: template.spec,
        }),
      );
      files.push(file);
    }
    // Every pod has the same init-data (same policy, same Trustee): one digest to pin.
    const digest = createHash("sha256")
      .update(podInitData(parsePod(readFileSync(files[0]!, "utf8")))!)
      .digest("base64");
    await trustee.pinInitData(digest);
    const want = createHash("sha256").update(secret).digest("hex");

    // Warm-up: one pod alone (page cache, Trustee's JIT), not counted.
    const warm = await runPodCli(files[0]!, env);
    if (warm.code !== 0) throw new Error(`warm-up pod failed: ${warm.stderr.slice(-2000)}`);

    console.log(
      `# ${n} pods at once; load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}`,
    );
    const tc0 = procCpuMs(trustee.pid);
    const rc0 = procCpuMs(reg.process.pid);
    const c0 = childrenCpuMs();
    const t0 = performance.now();
    const pods = await Promise.all(files.map((f) => runPodCli(f, env)));
    const wall = performance.now() - t0;
    const podCpu = childrenCpuMs() - c0;
    const trusteeCpu = procCpuMs(trustee.pid) - tc0;
    const regCpu = procCpuMs(reg.process.pid) - rc0;
    const cores = availableParallelism();
    const failed = pods.filter((p) => p.code !== 0 || !p.stdout.includes(want));
    for (const p of failed.slice(0, 2))
      console.log(
        `  failed pod (exit ${p.code}): ${p.stderr.trim().split("\n").slice(-3).join(" | ")}`,
      );
    const med = (f: (p: PodTimes) => number | undefined) =>
      summarize(
        "",
        pods.map((p) => f(p) ?? Number.NaN).filter((x) => !Number.isNaN(x)),
      ).medianMs.toFixed(0);
    const last = (f: (p: PodTimes) => number | undefined) =>
      Math.max(...pods.map((p) => f(p) ?? 0)).toFixed(0);
    console.log(
      `pods: ${n - failed.length}/${n} printed the secret's digest; per pod (median / last): sandbox up ${med((p) => p.sandbox)} / ${last((p) => p.sandbox)} ms, container started ${med((p) => p.started)} / ${last((p) => p.started)} ms, first output ${med((p) => p.output)} / ${last((p) => p.output)} ms, exit ${med((p) => p.exit)} / ${last((p) => p.exit)} ms`,
    );
    console.log(
      `CPU: ${(podCpu / 1000).toFixed(1)} s in coco run + agents + runc (${(podCpu / n).toFixed(0)} ms per pod), Trustee ${(trusteeCpu / 1000).toFixed(1)} s, registry ${(regCpu / 1000).toFixed(1)} s; wall ${(wall / 1000).toFixed(1)} s on ${cores} cores = ${(((podCpu + trusteeCpu + regCpu) / wall / cores) * 100).toFixed(0)} % busy`,
    );
    const runc = await runcBurst(dir, n);
    const ours: Stats = summarize(`${n} confidential pods at once`, [wall]);
    ours.extra = { cpu_ms_per_pod: Math.round(podCpu / n), failed: failed.length };
    const peer: Stats = summarize(`${n} bare runc run at once`, [runc.ms]);
    peer.extra = { cpu_ms_per_run: Math.round(runc.cpuMs / n) };
    report("burst", ours, peer, `goal: ours < 10 s; load ${loadavg()[0]!.toFixed(2)}`);
    if (failed.length > 0) throw new Error(`${failed.length} of ${n} pods failed`);
  } finally {
    await reg.stop();
    await trustee.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
