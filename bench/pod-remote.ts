/**
 * `npm run bench -- pod-remote [--runs N]`: a sealed pod (AA + CDH from init-data, attestation to
 * our Trustee, a sealed env value unsealed in the guest) run end to end as a peer pod with the
 * libvirt provider (a private libvirtd, `coco peerpod-adaptor` as its own process, the pod VM
 * image from scripts/build-podvm-image) and, as the peer measured in the same run with the runs
 * interleaved, in the local qemu sandbox: the same kernel, programs disk, accelerator, memory and
 * vCPUs. Reported: time to first output (the container's first byte on the host) and its phases;
 * the goal is the peer pod no slower than 1.5x the qemu sandbox.
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
import { createQemuSandboxBackend } from "../src/host/sandbox/qemu.js";
import { chooseAccel, ensureGuestImage, findQemu } from "../src/host/sandbox/qemu-host.js";
import { createRemoteSandboxBackend } from "../src/host/sandbox/remote.js";
import type { SandboxBackend } from "../src/host/sandbox/sandbox.js";
import { pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { reapFolder } from "../test/helpers/cleanup.js";
import { libvirtdUnavailable, startPrivateLibvirtd } from "../test/helpers/libvirtd.js";
import { startAdaptorProcess } from "../test/helpers/peerpod.js";
import { startRegistry } from "../test/helpers/registry.js";
import { startTrusteeProcess, type TrusteeProcess } from "../test/helpers/trustee-process.js";
import { printHeader, report, summarize } from "./harness.js";

const SECRET = "bench-secret";
type Timed = RunTimings & { firstOutputMs: number };

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  printHeader("pod-remote");
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 2;
  const why = libvirtdUnavailable();
  if (why) throw new Error(`pod-remote needs a private libvirtd: ${why}`);
  const qemu = findQemu();
  if (!qemu) throw new Error("qemu-system-x86_64 is not installed");
  const accel = await chooseAccel(qemu, (await ensureGuestImage()).kernel);
  console.log(`# accelerator (both): ${accel.accel} (${accel.why})`);
  const dir = mkdtempSync(join(tmpdir(), "bench-pod-remote-"));
  let trustee: TrusteeProcess | undefined;
  const registry = await startRegistry("plain");
  const lv = await startPrivateLibvirtd(dir);
  const adaptor = await startAdaptorProcess(dir, "libvirt", [
    "--libvirt-uri",
    lv.uri,
    "--libvirt-pool",
    "coco-bench",
    "--libvirt-pool-dir",
    lv.poolDir,
    // The qemu sandbox's VM size, so both boot the same machine.
    "--instance-types",
    "default=2:2048",
  ]);
  try {
    const image = (await pushBusyboxImage(registry.host)).tagged;
    trustee = await startTrusteeProcess(dir, { issuer: "coco-bench" });
    const sealed = await trustee.sealSecret("default/app/secret", SECRET);
    const images = new Map([[image, await fetchImageInfo(image)]]);
    const src = `apiVersion: v1
kind: Pod
metadata:
  name: bench-remote
spec:
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", "echo value=$SECRET"]
    env:
    - name: SECRET
      value: ${sealed}
`;
    const yaml = generatePolicy(src, parsePod(src), images, {
      allowLogs: true,
      initDataFiles: guestConfigs({ trustee: trustee.url, insecureRegistries: [registry.host] }),
    }).yaml;
    await trustee.pinInitData(
      createHash("sha256")
        .update(podInitData(parsePod(yaml))!)
        .digest("base64"),
    );
    const backends: [string, SandboxBackend][] = [
      ["qemu", createQemuSandboxBackend()],
      ["remote-libvirt", createRemoteSandboxBackend({ socket: adaptor.socket })],
    ];
    const results = new Map<string, Timed[]>(backends.map(([n]) => [n, []]));
    for (let i = 0; i < runs; i++) {
      // Interleaved, the order swapped each round: the host's load hits both alike.
      for (const [name, backend] of i % 2 === 0 ? backends : [...backends].reverse()) {
        let out = "";
        let firstOutputMs = 0;
        const t0 = performance.now();
        const r = await runPod(parsePod(yaml), {
          backend,
          stateRoot: join(dir, "state"),
          onOutput: (_c, _s, chunk) => {
            if (!firstOutputMs) firstOutputMs = performance.now() - t0;
            out += Buffer.from(chunk).toString();
          },
        });
        if (r.exitCode !== 0 || out !== `value=${SECRET}\n`)
          throw new Error(`${name}: exit ${r.exitCode}, output ${JSON.stringify(out)}`);
        const t: Timed = { ...r.timings, firstOutputMs };
        results.get(name)?.push(t);
        console.log(
          `${name.padEnd(15)} run ${i + 1}: first output ${(firstOutputMs / 1000).toFixed(1)} s (sandbox ${(t.sandboxMs / 1000).toFixed(1)} s, create ${(t.createMs / 1000).toFixed(1)} s, start ${(t.startMs / 1000).toFixed(1)} s)`,
        );
      }
    }
    const stats = (name: string) => {
      const all = results.get(name) ?? [];
      const s = summarize(
        `${name} sealed pod, time to first output`,
        all.map((t) => t.firstOutputMs),
      );
      const med = (k: keyof Timed) =>
        Math.round(
          summarize(
            k,
            all.map((t) => t[k] ?? 0),
          ).medianMs,
        );
      s.extra = { sandboxMs: med("sandboxMs"), createMs: med("createMs"), startMs: med("startMs") };
      return s;
    };
    const ours = stats("remote-libvirt");
    const peer = stats("qemu");
    console.log(
      `# remote-libvirt / qemu = ${(ours.medianMs / peer.medianMs).toFixed(2)}x (goal: at most 1.50x)`,
    );
    report(
      "pod-remote",
      ours,
      peer,
      `accelerator ${accel.accel}; goal: remote no slower than 1.5x qemu`,
    );
  } finally {
    await adaptor.stop();
    await trustee?.stop();
    await registry.stop();
    await lv.stop();
    reapFolder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
