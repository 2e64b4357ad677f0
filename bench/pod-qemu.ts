/**
 * `npm run bench -- pod-qemu [--runs N]`: one pod, run end to end in the qemu sandbox (a real VM)
 * and, as the peer measured in the same run, in the process sandbox. Two pods: `plain` (image
 * pulled by the agent) and `sealed` (AA + CDH from init-data, attestation to our Trustee, a sealed
 * env value unsealed in the guest). Reported per phase: sandbox ready (VM boot), CreateContainer
 * (pull, + attestation and unseal for `sealed`), StartContainer, total. Attestation happens lazily
 * at the first sealed value, so `attestAndUnsealMs` = sealed minus plain CreateContainer (both pull
 * the same image afresh) and `guestComponentsMs` = sealed minus plain sandbox start (AA + CDH).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePolicy } from "../src/host/genpolicy/generate.js";
import { guestConfigs } from "../src/host/genpolicy/guest-config.js";
import { fetchImageInfo } from "../src/host/runtime/image-config.js";
import { parsePod } from "../src/host/runtime/pod.js";
import { podInitData, type RunTimings, runPod } from "../src/host/runtime/run.js";
import { createProcessSandboxBackend } from "../src/host/sandbox/process.js";
import { createQemuSandboxBackend } from "../src/host/sandbox/qemu.js";
import { chooseAccel, ensureGuestImage, findQemu } from "../src/host/sandbox/qemu-host.js";
import type { SandboxBackend } from "../src/host/sandbox/sandbox.js";
import { pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { startRegistry } from "../test/helpers/registry.js";
import { startTrusteeProcess, type TrusteeProcess } from "../test/helpers/trustee-process.js";
import { printHeader, report, type Stats, summarize } from "./harness.js";

const SECRET = "bench-secret";

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  printHeader("pod-qemu");
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 2;
  const qemu = findQemu();
  if (!qemu) throw new Error("qemu-system-x86_64 is not installed");
  const { accel, why } = await chooseAccel(qemu, (await ensureGuestImage()).kernel);
  console.log(`# qemu accelerator: ${accel} (${why})`);
  const dir = mkdtempSync(join(tmpdir(), "bench-pod-qemu-"));
  let trustee: TrusteeProcess | undefined;
  const registry = await startRegistry("plain");
  try {
    const image = (await pushBusyboxImage(registry.host)).tagged;
    trustee = await startTrusteeProcess(dir, { issuer: "coco-bench" });
    const kbsUrl = trustee.url;
    const sealed = await trustee.sealSecret("default/app/secret", SECRET);
    const images = new Map([[image, await fetchImageInfo(image)]]);
    const pod = (name: string, env: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", "echo value=$SECRET"]
    env:
    - name: SECRET
      value: ${env}
`;
    const plainYaml = generatePolicy(
      pod("bench-plain", "plain"),
      parsePod(pod("bench-plain", "plain")),
      images,
      {
        allowLogs: true,
      },
    ).yaml;
    const sealedSrc = pod("bench-sealed", sealed);
    const sealedYaml = generatePolicy(sealedSrc, parsePod(sealedSrc), images, {
      allowLogs: true,
      initDataFiles: guestConfigs({ trustee: kbsUrl, insecureRegistries: [registry.host] }),
    }).yaml;
    // The data owner releases the key only to this pod's init-data digest.
    const digest = createHash("sha256")
      .update(podInitData(parsePod(sealedYaml))!)
      .digest("base64");
    await trustee.pinInitData(digest);

    const backends: [string, SandboxBackend][] = [
      [`qemu-${accel}`, createQemuSandboxBackend()],
      ["process", createProcessSandboxBackend()],
    ];
    const results = new Map<string, RunTimings[]>();
    for (const [name, backend] of backends) {
      for (const [variant, yaml, expect] of [
        ["plain", plainYaml, "value=plain\n"],
        ["sealed", sealedYaml, `value=${SECRET}\n`],
      ] as const) {
        const all: RunTimings[] = [];
        for (let i = 0; i < runs; i++) {
          let out = "";
          const r = await runPod(parsePod(yaml), {
            backend,
            stateRoot: join(dir, "state"),
            onOutput: (_c, _s, chunk) => {
              out += Buffer.from(chunk).toString();
            },
          });
          if (r.exitCode !== 0 || out !== expect) {
            throw new Error(
              `${name}/${variant}: exit ${r.exitCode}, output ${JSON.stringify(out)}`,
            );
          }
          all.push(r.timings);
        }
        results.set(`${name}/${variant}`, all);
        const med = (k: keyof RunTimings) =>
          summarize(
            k,
            all.map((t) => t[k] ?? 0),
          ).medianMs.toFixed(0);
        console.log(
          `${`${name}/${variant}`.padEnd(24)} sandbox ${med("sandboxMs")} ms  create ${med("createMs")} ms  start ${med("startMs")} ms  total ${med("totalMs")} ms  (n=${all.length})`,
        );
      }
    }
    const stats = (key: string, label: string): Stats => {
      const all = results.get(key) ?? [];
      const plain = results.get(key.replace("sealed", "plain")) ?? [];
      const s = summarize(
        label,
        all.map((t) => t.totalMs),
      );
      const m = (runs: RunTimings[], k: keyof RunTimings) =>
        summarize(
          k,
          runs.map((t) => t[k] ?? 0),
        ).medianMs;
      s.extra = {
        sandboxMs: Math.round(m(all, "sandboxMs")),
        createMs: Math.round(m(all, "createMs")),
        startMs: Math.round(m(all, "startMs")),
        // AA + CDH start in the guest (sandbox phase), attestation + resource fetch + unseal on
        // the first sealed value (CreateContainer phase), each as sealed minus plain.
        guestComponentsMs: Math.round(m(all, "sandboxMs") - m(plain, "sandboxMs")),
        attestAndUnsealMs: Math.round(m(all, "createMs") - m(plain, "createMs")),
      };
      return s;
    };
    report(
      "pod-qemu",
      stats(`qemu-${accel}/sealed`, `qemu-${accel} sealed pod`),
      stats("process/sealed", "process sealed pod"),
      `qemu accel=${accel}; guestComponents/attestAndUnseal = sealed minus plain`,
    );
  } finally {
    await trustee?.stop();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
