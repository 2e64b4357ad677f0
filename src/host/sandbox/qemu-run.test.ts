// run-tests: timeout 15 min (two pods in VMs; a TCG boot may take up to its 400 s start limit on a busy host)
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pushBusyboxImage } from "../../../test/helpers/busybox-image.js";
import { cleanUpOnExit } from "../../../test/helpers/cleanup.js";
import { startRegistry, type TestRegistry } from "../../../test/helpers/registry.js";
import { type GenerateOptions, generatePolicy } from "../genpolicy/generate.js";
import { fetchImageInfo } from "../runtime/image-config.js";
import { parsePod } from "../runtime/pod.js";
import { runPod } from "../runtime/run.js";
import { createQemuSandboxBackend } from "./qemu.js";

// Whole pods in a real VM: a registry on the host's loopback, the image pulled inside the guest,
// runc in the guest, the policy from init-data enforced by the guest's agent.
const work = mkdtempSync(join(tmpdir(), "coco-qemu-run-"));
// Every VM of this file has its state under `work`: a cancelled or timed-out file kills them.
const cleanUp = cleanUpOnExit(work);
const backend = createQemuSandboxBackend();
let registry: TestRegistry | undefined;
let image = "";
let skip: string | false = false;

const manifest = (name: string, command: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: qemu
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", ${JSON.stringify(command)}]
`;

async function generated(yaml: string, o: GenerateOptions = {}): Promise<string> {
  const pod = parsePod(yaml);
  const images = new Map();
  for (const c of pod.containers) images.set(c.image, await fetchImageInfo(c.image));
  return generatePolicy(yaml, pod, images, o).yaml;
}

before(async () => {
  skip =
    process.env.COCO_SKIP_VM_TESTS === "1" ? "COCO_SKIP_VM_TESTS=1" : await backend.unavailable();
  if (skip) return;
  registry = await startRegistry("plain");
  image = (await pushBusyboxImage(registry.host)).tagged;
});

after(async () => {
  await registry?.stop();
  cleanUp();
});

describe("coco run with the qemu sandbox (a real VM)", () => {
  test("runs the pod inside the guest kernel and streams its output", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(manifest("vm-logs", "uname -r; cat /proc/cmdline; exit 3"), {
      allowLogs: true,
    });
    const out: string[] = [];
    const events: string[] = [];
    const r = await runPod(parsePod(yaml), {
      backend,
      stateRoot: join(work, "state"),
      signal: t.signal,
      onOutput: (_c, s, chunk) => out.push(`${s}:${Buffer.from(chunk).toString()}`),
      onEvent: (e) => {
        events.push(e);
        if (process.env.COCO_DEBUG) console.error(e);
      },
    });
    // The guest image carries the host's pinned Node.js (tools.lock), and the agent runs on it.
    const agentNode = events.map((e) => /agent listening on .* \(node (v[^,]+),/.exec(e)?.[1]);
    assert.ok(
      agentNode.includes(process.version),
      `the guest's agent runs on ${agentNode.filter(Boolean).join(", ") || "no reported node"}, the host on ${process.version}`,
    );
    t.diagnostic(`guest node ${process.version}`);
    const text = out.join("");
    // The guest's kernel, not the host's, and the command line the host gave the VM.
    assert.match(text, /stdout:[^\n]*\n?/);
    assert.ok(!text.includes(release()), `ran on the host kernel: ${text}`);
    assert.match(text, /console=ttyS0 .*coco\.initdata=1/);
    assert.equal(r.exitCode, 3);
    assert.equal(r.record.kind, "qemu");
    t.diagnostic(
      `sandbox ${Math.round(r.timings.sandboxMs)} ms, create ${Math.round(r.timings.createMs)} ms, start ${Math.round(r.timings.startMs)} ms, total ${Math.round(r.timings.totalMs)} ms`,
    );
    // The sandbox is gone: no state left behind for a finished pod.
    assert.deepEqual(readdirSync(join(work, "state")), []);
  });

  test("a host-changed command is refused by the policy inside the VM", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(manifest("vm-tampered", "echo fine"));
    const evil = yaml.replace("echo fine", "cat /etc/shadow");
    assert.notEqual(evil, yaml);
    await assert.rejects(
      runPod(parsePod(evil), { backend, stateRoot: join(work, "state"), signal: t.signal }),
      (e: { code?: string; message?: string }) =>
        e.code === "ERR_POLICY_DENIED" &&
        /CreateContainerRequest is blocked by policy/.test(e.message ?? ""),
    );
  });
});
