/**
 * containerd-shim-coco-v2 under a real containerd 2.x, driven through the CRI with crictl exactly
 * as kubelet does: what the pod's policy and the shim refuse, and crashes of the
 * shim or the sandbox. Real peers only: containerd, ctr, crictl (Go module proxy), the CNCF
 * registry, runc and CNI (Debian); the pod's policy is what `coco policy generate` writes.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { podStateDir } from "../../src/host/shim/paths.js";
import {
  assertPodGone,
  type CocoCri,
  cocoCriSkip,
  INITDATA,
  makePod,
  pidAlive,
  runPod,
  startCocoCri,
  waitLogs,
  waitState,
} from "../helpers/coco-cri.js";

const skip = cocoCriSkip();
let c: CocoCri | undefined;

before(async () => {
  if (!skip) c = await startCocoCri();
});

after(async () => {
  await c?.stop();
});

describe("containerd-shim-coco-v2 refusals and crashes under containerd's CRI (crictl)", {
  timeout: 1_800_000,
}, () => {
  test("a host-added env var or mount is refused by the pod's policy", async (t) => {
    if (skip) return t.skip(skip);
    const p = await makePod("shim-tamper", "echo fine");
    const sid = (
      await c!.h.crictlOk(["runp", "--runtime", "coco-dev", p.podJson], { timeoutMs: 240_000 })
    ).trim();
    const hostDir = join(c!.work, "host-data");
    mkdirSync(hostDir, { recursive: true });
    for (const extra of [
      { envs: [{ key: "LD_PRELOAD", value: "/tmp/evil.so" }] },
      { mounts: [{ host_path: hostDir, container_path: "/data" }] },
    ]) {
      const cid = (
        await c!.h.crictlOk(["create", sid, p.ctrJson(extra), p.podJson], { timeoutMs: 120_000 })
      ).trim();
      const r = await c!.h.crictl(["start", cid], { timeoutMs: 120_000 });
      assert.notEqual(r.status, 0, JSON.stringify(extra));
      assert.match(r.stderr, /CreateContainerRequest is blocked by policy/, JSON.stringify(extra));
      await c!.h.crictlOk(["rm", cid]);
    }
    await c!.h.crictlOk(["rmp", "-f", sid], { timeoutMs: 120_000 });
    await assertPodGone(sid);
  });

  test("a pod without init-data, or with init-data that does not decode, is refused at runp", async (t) => {
    if (skip) return t.skip(skip);
    const p = await makePod("shim-noinit", "true");
    for (const [label, annotations] of [
      ["none", {}],
      ["garbage", { [INITDATA]: "bm90IGd6aXA=" }],
    ] as const) {
      const cfg = JSON.parse(readFileSync(p.podJson, "utf8"));
      cfg.annotations = annotations;
      cfg.metadata.uid = randomUUID();
      const path = join(c!.work, `noinit-${label}.pod.json`);
      writeFileSync(path, JSON.stringify(cfg));
      const r = await c!.h.crictl(["runp", "--runtime", "coco-dev", path], { timeoutMs: 120_000 });
      assert.notEqual(r.status, 0, label);
      assert.match(r.stderr, /cc_init_data/, label);
    }
    assert.equal(
      (await c!.h.crictlOk(["pods", "--name", "shim-noinit", "-q"])).trim() === "" ||
        (
          await c!.h.crictlOk(["pods", "--name", "shim-noinit", "--state", "ready", "-q"])
        ).trim() === "",
      true,
      "no ready pod was made",
    );
  });

  test("a killed sandbox, and a killed shim, are seen by containerd as exits", async (t) => {
    if (skip) return t.skip(skip);
    for (const victim of ["sandbox", "shim"] as const) {
      const p = await makePod(`shim-kill-${victim}`, "echo up; while :; do sleep 1; done", {
        allowLogs: true,
      });
      const { sid, cid } = await runPod(p);
      await waitLogs(cid, "up");
      const dir = podStateDir(c!.shimState, "k8s.io", sid);
      const pid = Number(
        readFileSync(join(dir, victim === "sandbox" ? "sandbox.pid" : "shim.pid"), "utf8"),
      );
      assert.ok(pidAlive(pid));
      process.kill(pid, "SIGKILL");
      const st = await waitState(cid, "CONTAINER_EXITED", 60_000);
      assert.notEqual(st.exitCode, 0, victim);
      // containerd handles the sandbox task's exit event on its own, after the container's.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const pods = JSON.parse(await c!.h.crictlOk(["inspectp", sid])) as {
          status: { state: string };
        };
        if (pods.status.state === "SANDBOX_NOTREADY") break;
        if (Date.now() > deadline) assert.equal(pods.status.state, "SANDBOX_NOTREADY", victim);
        await new Promise((r) => setTimeout(r, 200));
      }
      await c!.h.crictlOk(["rmp", "-f", sid], { timeoutMs: 120_000 });
      await assertPodGone(sid);
    }
  });
});
