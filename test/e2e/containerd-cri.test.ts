/**
 * The containerd harness with containerd's own runc handler, driven through the CRI with crictl
 * exactly as kubelet would: runp, create, start, logs, inspect, stopp, rmp. Real peers only:
 * containerd 2.x, containerd-shim-runc-v2, crictl (Go module proxy), runc and CNI (Debian).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  BUSYBOX_IMAGE,
  type ContainerdHarness,
  containerdSkip,
  startContainerd,
} from "../helpers/containerd.js";

/** Writes a CRI PodSandboxConfig for crictl; returns its path. */
function podConfig(c: ContainerdHarness, name: string): string {
  const path = join(c.dir, `${name}.pod.json`);
  writeFileSync(
    path,
    JSON.stringify({
      metadata: { name, namespace: "default", uid: randomUUID(), attempt: 0 },
      log_directory: join(c.podLogDir, name),
      linux: { cgroup_parent: c.cgroupParent },
    }),
  );
  return path;
}

/** Writes a CRI ContainerConfig for crictl; returns its path. */
function containerConfig(c: ContainerdHarness, name: string, command: string[]): string {
  const path = join(c.dir, `${name}.ctr.json`);
  writeFileSync(
    path,
    JSON.stringify({
      metadata: { name },
      image: { image: BUSYBOX_IMAGE },
      command,
      log_path: `${name}.log`,
      linux: {},
    }),
  );
  return path;
}

async function waitExited(c: ContainerdHarness, id: string): Promise<{ exitCode: number }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const st = JSON.parse(await c.crictlOk(["inspect", id])) as {
      status: { state: string; exitCode: number };
    };
    if (st.status.state === "CONTAINER_EXITED") return { exitCode: st.status.exitCode };
    if (Date.now() > deadline) throw new Error(`container ${id} still ${st.status.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("containerd CRI with containerd's runc handler (crictl)", {
  skip: containerdSkip(),
}, () => {
  let c: ContainerdHarness;
  before(async () => {
    c = await startContainerd();
  });
  after(async () => {
    await c?.stop();
  });

  test("the CRI reports the runc handler and the locally built pause and busybox images", async () => {
    const info = JSON.parse(await c.crictlOk(["info"])) as {
      config: { containerd: { runtimes: Record<string, { runtimeType: string }> } };
    };
    assert.equal(info.config.containerd.runtimes.runc?.runtimeType, "io.containerd.runc.v2");
    const images = await c.crictlOk(["images", "-o", "json"]);
    assert.match(images, /coco\.local\/pause:1/);
    assert.match(images, /coco\.local\/busybox:1/);
  });

  test("runp + create + start + logs + stopp + rmp runs a container and reports its exit code", async () => {
    const pod = podConfig(c, "runc-pod");
    const podId = (await c.crictlOk(["runp", "--runtime", "runc", pod])).trim();
    assert.match(podId, /^[0-9a-f]{64}$/);
    const ctr = containerConfig(c, "app", [
      "/bin/sh",
      "-c",
      "echo out-line; echo err-line >&2; exit 3",
    ]);
    const ctrId = (await c.crictlOk(["create", "--no-pull", podId, ctr, pod])).trim();
    await c.crictlOk(["start", ctrId]);
    const { exitCode } = await waitExited(c, ctrId);
    assert.equal(exitCode, 3);
    const logs = await c.crictl(["logs", ctrId]);
    assert.equal(logs.status, 0, logs.stderr);
    assert.equal(logs.stdout, "out-line\n");
    assert.equal(logs.stderr, "err-line\n");
    // The pod got a network namespace with an address from the bridge's range.
    const podStatus = JSON.parse(await c.crictlOk(["inspectp", podId])) as {
      status: { state: string; network: { ip: string } };
    };
    assert.equal(podStatus.status.state, "SANDBOX_READY");
    assert.match(podStatus.status.network.ip, /^10\.88\./);
    assert.ok(c.shimPids().length > 0, "a runc shim serves the pod");

    await c.crictlOk(["stopp", podId]);
    await c.crictlOk(["rmp", podId]);
    assert.equal((await c.crictlOk(["pods", "-q"])).trim(), "");
    assert.equal((await c.crictlOk(["ps", "-a", "-q"])).trim(), "");
    // The shim exits once its last task is deleted.
    const deadline = Date.now() + 10_000;
    while (c.shimPids().length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(c.shimPids(), []);
  });

  test("a container that runs on keeps running until stopp stops it", async () => {
    const pod = podConfig(c, "long-pod");
    const podId = (await c.crictlOk(["runp", "--runtime", "runc", pod])).trim();
    const ctr = containerConfig(c, "sleeper", ["/bin/sh", "-c", "echo started; exec sleep 600"]);
    const ctrId = (await c.crictlOk(["create", "--no-pull", podId, ctr, pod])).trim();
    await c.crictlOk(["start", ctrId]);
    const st = JSON.parse(await c.crictlOk(["inspect", ctrId])) as { status: { state: string } };
    assert.equal(st.status.state, "CONTAINER_RUNNING");
    await c.crictlOk(["stopp", podId]);
    const after = JSON.parse(await c.crictlOk(["inspect", ctrId])) as { status: { state: string } };
    assert.equal(after.status.state, "CONTAINER_EXITED");
    await c.crictlOk(["rmp", podId]);
  });

  test("stop() leaves no containerd, shim, mount, cgroup, bridge or folder behind", async () => {
    const other = await startContainerd();
    try {
      const pod = podConfig(other, "left-running");
      const podId = (await other.crictlOk(["runp", "--runtime", "runc", pod])).trim();
      const ctr = containerConfig(other, "sleeper", ["/bin/sleep", "600"]);
      await other.crictlOk([
        "start",
        (await other.crictlOk(["create", "--no-pull", podId, ctr, pod])).trim(),
      ]);
      assert.ok(other.shimPids().length > 0);
    } finally {
      await other.stop();
    }
    assert.equal(existsSync(`/proc/${other.process.pid}`), false, "containerd is gone");
    assert.deepEqual(other.shimPids(), []);
    assert.equal(existsSync(other.dir), false, "the private folder is removed");
    assert.equal(existsSync(`/sys/class/net/${other.bridge}`), false, "the bridge is removed");
    const cg = existsSync("/sys/fs/cgroup/cgroup.controllers")
      ? `/sys/fs/cgroup${other.cgroupParent}`
      : `/sys/fs/cgroup/memory${other.cgroupParent}`;
    assert.equal(existsSync(cg), false, "the pods' cgroups are removed");
  });
});
