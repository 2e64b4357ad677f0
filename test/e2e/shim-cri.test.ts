/**
 * containerd-shim-coco-v2 under a real containerd 2.x, driven through the CRI with crictl exactly
 * as kubelet does (runp --runtime coco-dev, create, start, logs, exec, stop, rm, stopp, rmp), and
 * watched with `ctr events`. Real peers only: containerd, ctr, crictl (Go module proxy), the CNCF
 * registry, runc and CNI (Debian); the pod's policy is what `coco policy generate` writes.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  assertPodGone,
  type CocoCri,
  cocoCriSkip,
  inspect,
  makePod,
  runPod,
  startCocoCri,
  waitLogs,
  waitState,
  watchEvents,
} from "../helpers/coco-cri.js";

const skip = cocoCriSkip();
let c: CocoCri | undefined;

before(async () => {
  if (!skip) c = await startCocoCri();
});

after(async () => {
  await c?.stop();
});

describe("containerd-shim-coco-v2 under containerd's CRI (crictl as kubelet)", {
  timeout: 1_800_000,
}, () => {
  test("runp, create, start, logs, exec refused by policy, stop, rm, stopp, rmp; events in order; nothing left", async (t) => {
    if (skip) return t.skip(skip);
    const events = watchEvents();
    try {
      const p = await makePod(
        "shim-life",
        "echo hello from the guest; echo to-stderr >&2; while :; do sleep 1; done",
        { allowLogs: true },
      );
      const { sid, cid } = await runPod(p);
      const logs = await waitLogs(cid, "hello from the guest");
      assert.match(logs, /hello from the guest/);
      const all = await c!.h.crictl(["logs", cid]);
      assert.match(all.stderr, /to-stderr/, "stderr reaches crictl logs apart from stdout");
      assert.equal((await inspect(cid)).state, "CONTAINER_RUNNING");
      // Stats come from the guest's cgroup (StatsContainer → cgroup v1 metrics → CRI).
      const stats = JSON.parse(await c!.h.crictlOk(["stats", "-o", "json", "--id", cid])) as {
        stats: {
          memory?: { workingSetBytes?: { value?: string } };
          cpu?: { usageCoreNanoSeconds?: { value?: string } };
        }[];
      };
      const st0 = stats.stats[0];
      assert.ok(Number(st0?.memory?.workingSetBytes?.value ?? 0) > 0, JSON.stringify(stats));
      assert.ok(Number(st0?.cpu?.usageCoreNanoSeconds?.value ?? 0) > 0, JSON.stringify(stats));
      const ex = await c!.h.crictl(["exec", cid, "cat", "/etc/shadow"], { timeoutMs: 60_000 });
      assert.notEqual(ex.status, 0);
      assert.match(ex.stderr, /ExecProcessRequest is blocked by policy/);
      await c!.h.crictlOk(["stop", cid], { timeoutMs: 120_000 });
      const st = await waitState(cid, "CONTAINER_EXITED");
      assert.notEqual(st.exitCode, 0, "stopped by a signal");
      await c!.h.crictlOk(["rm", cid]);
      await c!.h.crictlOk(["stopp", sid], { timeoutMs: 120_000 });
      await c!.h.crictlOk(["rmp", sid], { timeoutMs: 120_000 });
      await assertPodGone(sid);
      await new Promise((r) => setTimeout(r, 500));
      // The container's own task events, in order (exec events carry the exec id; the refused
      // exec was added and deleted without starting).
      const seen = events.lines
        .filter((l) => l.includes(cid) && l.includes(" /tasks/") && l.includes("{"))
        .map((l) => {
          const topic = /\/tasks\/[a-z-]+/.exec(l)?.[0] ?? "";
          const body = JSON.parse(l.slice(l.indexOf("{"))) as { id?: string; exec_id?: string };
          const exec =
            topic.startsWith("/tasks/exec") ||
            (body.id !== undefined && body.id !== "" && body.id !== cid);
          return exec ? `exec:${topic}` : topic;
        });
      const init = seen.filter((x) => !x.startsWith("exec:"));
      assert.deepEqual(
        init,
        ["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"],
        seen.join(" "),
      );
      const exec = seen.filter((x) => x.startsWith("exec:"));
      assert.deepEqual(exec, ["exec:/tasks/exec-added", "exec:/tasks/delete"], seen.join(" "));
      assert.ok(
        seen.indexOf("exec:/tasks/exec-added") > seen.indexOf("/tasks/start"),
        seen.join(" "),
      );
    } finally {
      events.proc.kill();
    }
  });

  test("output stays in the guest when the policy does not let the host read it", async (t) => {
    if (skip) return t.skip(skip);
    const p = await makePod("shim-quiet", "echo secret-output; exit 3");
    const { sid, cid } = await runPod(p);
    const st = await waitState(cid, "CONTAINER_EXITED");
    assert.equal(st.exitCode, 3, "the exit status still reaches containerd");
    const logs = await c!.h.crictl(["logs", cid]);
    assert.equal(logs.stdout + logs.stderr, "");
    await c!.h.crictlOk(["rmp", "-f", sid], { timeoutMs: 120_000 });
    await assertPodGone(sid);
  });
});
