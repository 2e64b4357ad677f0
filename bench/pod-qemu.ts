/**
 * `npm run bench -- pod-qemu [--runs N]`: one pod, run end to end in the qemu sandbox (a real VM)
 * under TCG, and under KVM where the probe says KVM runs a guest, and, as the peer measured in the
 * same run, in the process sandbox. Two pods: `plain` (image pulled by the agent) and `sealed`
 * (AA + CDH from init-data, attestation to our Trustee, a sealed env value unsealed in the guest).
 * Reported: time to first output (the container's first byte on the host) split into VM boot
 * (qemu spawn → agent answers; of which the kernel banner), guest components (AA + CDH start:
 * sealed minus plain sandbox start), attestation + unseal (sealed minus plain CreateContainer;
 * attestation happens lazily at the first sealed value), pull (plain CreateContainer) and
 * container start (StartContainer → first output). Also the initramfs size.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePolicy } from "../src/host/genpolicy/generate.js";
import { guestConfigs } from "../src/host/genpolicy/guest-config.js";
import { fetchImageInfo } from "../src/host/runtime/image-config.js";
import { parsePod } from "../src/host/runtime/pod.js";
import { podInitData, type RunTimings, runPod } from "../src/host/runtime/run.js";
import { createProcessSandboxBackend } from "../src/host/sandbox/process.js";
import { createQemuSandboxBackend } from "../src/host/sandbox/qemu.js";
import {
  chooseAccel,
  ensureGuestImage,
  findQemu,
  guestImageDir,
} from "../src/host/sandbox/qemu-host.js";
import type { SandboxBackend } from "../src/host/sandbox/sandbox.js";
import { pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { startRegistry } from "../test/helpers/registry.js";
import { startTrusteeProcess, type TrusteeProcess } from "../test/helpers/trustee-process.js";
import { printHeader, report, type Stats, summarize } from "./harness.js";

const SECRET = "bench-secret";

/** One run's phases, plus the time to the container's first output and to the kernel banner. */
type Timed = RunTimings & { firstOutputMs: number; kernelMs: number };

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

    // TCG always (forced, so the numbers are TCG's on any host), KVM where it runs a guest.
    const backends: [string, SandboxBackend, string | undefined][] = [
      ["qemu-tcg", createQemuSandboxBackend(), "tcg"],
      ...(accel === "kvm"
        ? [["qemu-kvm", createQemuSandboxBackend(), "kvm"] as [string, SandboxBackend, string]]
        : []),
      ["process", createProcessSandboxBackend(), undefined],
    ];
    const results = new Map<string, Timed[]>();
    const savedAccel = process.env.COCO_QEMU_ACCEL;
    for (const [name, backend, forceAccel] of backends) {
      if (forceAccel) process.env.COCO_QEMU_ACCEL = forceAccel;
      else if (savedAccel === undefined) delete process.env.COCO_QEMU_ACCEL;
      else process.env.COCO_QEMU_ACCEL = savedAccel;
      const variants = [
        ["plain", plainYaml, "value=plain\n"],
        ["sealed", sealedYaml, `value=${SECRET}\n`],
      ] as const;
      const once = async ([variant, yaml, expect]: (typeof variants)[number]): Promise<Timed> => {
        let out = "";
        let firstOutputMs = 0;
        let kernelMs = 0;
        const t0 = performance.now();
        const r = await runPod(parsePod(yaml), {
          backend,
          stateRoot: join(dir, "state"),
          onOutput: (_c, _s, chunk) => {
            if (!firstOutputMs) firstOutputMs = performance.now() - t0;
            out += Buffer.from(chunk).toString();
          },
          onEvent: (e) => {
            const m = /^guest: guest kernel started after (\d+) ms/.exec(e);
            if (m) kernelMs = Number(m[1]);
          },
        });
        if (r.exitCode !== 0 || out !== expect) {
          throw new Error(`${name}/${variant}: exit ${r.exitCode}, output ${JSON.stringify(out)}`);
        }
        return { ...r.timings, firstOutputMs, kernelMs };
      };
      // One discarded pod first (cold page cache, first code-cache writes), then the variants
      // interleaved, so neither variant alone pays for the first boot or for a noisy minute.
      const warm = await once(variants[0]);
      console.log(
        `${`${name}/warm-up`.padEnd(20)} first output ${warm.firstOutputMs.toFixed(0)} ms (discarded)`,
      );
      for (let i = 0; i < runs; i++) {
        for (const v of variants) {
          const key = `${name}/${v[0]}`;
          results.set(key, [...(results.get(key) ?? []), await once(v)]);
        }
      }
      for (const [variant] of variants) {
        const all = results.get(`${name}/${variant}`) ?? [];
        const med = (k: keyof Timed) =>
          summarize(
            k,
            all.map((t) => t[k] ?? 0),
          ).medianMs.toFixed(0);
        console.log(
          `${`${name}/${variant}`.padEnd(20)} first output ${med("firstOutputMs")} ms  sandbox ${med("sandboxMs")} ms (kernel banner ${med("kernelMs")} ms)  create ${med("createMs")} ms  start ${med("startMs")} ms  total ${med("totalMs")} ms  (n=${all.length})`,
        );
      }
    }
    if (savedAccel === undefined) delete process.env.COCO_QEMU_ACCEL;
    else process.env.COCO_QEMU_ACCEL = savedAccel;
    const m = (runs: Timed[], k: keyof Timed) =>
      summarize(
        k,
        runs.map((t) => t[k] ?? 0),
      ).medianMs;
    for (const [name] of backends) {
      const sealed = results.get(`${name}/sealed`) ?? [];
      const plain = results.get(`${name}/plain`) ?? [];
      // A difference below zero is noise between runs (the sealed pod cannot do less work).
      const f = (ms: number) => (ms < 0 ? "~0 s (noise)" : `${(ms / 1000).toFixed(1)} s`);
      console.log(
        `${name.padEnd(10)} sealed pod, time to first output ${f(m(sealed, "firstOutputMs"))} = VM boot ${f(m(plain, "sandboxMs"))} (kernel banner ${f(m(plain, "kernelMs"))}) + guest components ${f(m(sealed, "sandboxMs") - m(plain, "sandboxMs"))} + attestation/unseal ${f(m(sealed, "createMs") - m(plain, "createMs"))} + pull ${f(m(plain, "createMs"))} + container start ${f(m(sealed, "firstOutputMs") - m(sealed, "sandboxMs") - m(sealed, "createMs"))}`,
      );
    }
    const stats = (key: string, label: string): Stats => {
      const all = results.get(key) ?? [];
      const plain = results.get(key.replace("sealed", "plain")) ?? [];
      const s = summarize(
        label,
        all.map((t) => t.firstOutputMs),
      );
      s.extra = {
        totalMs: Math.round(m(all, "totalMs")),
        kernelMs: Math.round(m(all, "kernelMs")),
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
    const initrd = statSync(join(guestImageDir(), "initrd.cpio")).size;
    console.log(`# initramfs ${(initrd / 2 ** 20).toFixed(1)} MiB (${initrd} bytes)`);
    for (const [name] of backends.filter(([n]) => n !== "process")) {
      report(
        "pod-qemu",
        stats(`${name}/sealed`, `${name} sealed pod, time to first output`),
        stats("process/sealed", "process sealed pod, time to first output"),
        `probe: ${accel}; guestComponents/attestAndUnseal = sealed minus plain`,
      );
    }
  } finally {
    await trustee?.stop();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
