/**
 * Demo chapter: a pod in a real VM. A registry on the host's loopback, a policy generated for the
 * pod (carried in init-data), then `coco run --runtime-class qemu`: qemu boots Debian's kernel with
 * our initramfs, the agent answers over virtio-serial, the image is pulled and run by runc inside
 * the guest, and the container's output shows the guest's kernel, not the host's.
 */
import { release } from "node:os";
import { generatePolicy } from "../src/host/genpolicy/generate.js";
import { fetchImageInfo } from "../src/host/runtime/image-config.js";
import { parsePod } from "../src/host/runtime/pod.js";
import { runPod } from "../src/host/runtime/run.js";
import { createQemuSandboxBackend } from "../src/host/sandbox/qemu.js";
import { findQemu } from "../src/host/sandbox/qemu-host.js";
import { pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { startRegistry } from "../test/helpers/registry.js";

/** What the qemu chapter observed. */
export interface QemuDemoResult {
  accel: "kvm" | "tcg";
  sandboxMs: number;
  guestKernel: string;
  hostKernel: string;
  exitCode: number;
}

/** Runs one pod in the qemu sandbox and reports what ran where. */
export async function demoQemu(
  log: (line: string) => void,
  ctx: { stateRoot?: string } = {},
): Promise<QemuDemoResult> {
  const qemu = findQemu();
  if (!qemu) throw new Error("qemu-system-x86_64 is not installed");
  const registry = await startRegistry("plain");
  try {
    const image = (await pushBusyboxImage(registry.host)).tagged;
    const yaml = `apiVersion: v1
kind: Pod
metadata:
  name: demo-vm
spec:
  runtimeClassName: qemu
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", "echo kernel=$(uname -r)"]
`;
    const pod = parsePod(yaml);
    const gen = generatePolicy(yaml, pod, new Map([[image, await fetchImageInfo(image)]]), {
      allowLogs: true,
    });
    log(`policy generated for ${image}; it travels in init-data on a read-only virtio-blk disk`);
    let out = "";
    let accel: "kvm" | "tcg" | undefined;
    const r = await runPod(parsePod(gen.yaml), {
      backend: createQemuSandboxBackend(),
      ...(ctx.stateRoot ? { stateRoot: ctx.stateRoot } : {}),
      onOutput: (_c, _s, chunk) => {
        out += Buffer.from(chunk).toString();
      },
      onEvent: (e) => {
        // Which accelerator and why, a KVM guest that did not run and the fallback, the
        // guest's own progress, and when it was ready.
        if (
          /^guest: (accelerator|KVM|guest kernel started|coco-init|coco-agent: init-data|qemu sandbox ready)/.test(
            e,
          )
        ) {
          log(e);
        }
        const ready = /^guest: qemu sandbox ready .*\((kvm|tcg)\)$/.exec(e);
        if (ready) accel = ready[1] as "kvm" | "tcg";
      },
    });
    const guestKernel = /kernel=(\S+)/.exec(out)?.[1] ?? "";
    log(`container printed: ${out.trim()}`);
    log(`guest kernel ${guestKernel} vs host kernel ${release()}: the pod ran inside the VM`);
    log(
      `sandbox ready ${(r.timings.sandboxMs / 1000).toFixed(1)} s, pull+create ${(r.timings.createMs / 1000).toFixed(1)} s, start ${(r.timings.startMs / 1000).toFixed(1)} s`,
    );
    log("a plain VM with the sample TEE: isolation from host processes, NO confidentiality");
    if (!guestKernel || guestKernel === release()) {
      throw new Error(`the container did not report a guest kernel: ${JSON.stringify(out)}`);
    }
    if (!accel) throw new Error("the sandbox did not report its accelerator");
    return {
      accel,
      sandboxMs: r.timings.sandboxMs,
      guestKernel,
      hostKernel: release(),
      exitCode: r.exitCode,
    };
  } finally {
    await registry.stop();
  }
}
