import assert from "node:assert/strict";
import { test } from "node:test";
import { demoPodLimits } from "./pod-limits.js";

test("the pod-limits demo shows the limits in the cgroup, two restarts, and pinned limits refused", async (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root (process sandbox, runc)");
  const r = await demoPodLimits(() => {});
  assert.equal(r.exitCode, 0);
  assert.match(r.output, /start 1: memory limit 67108864, cpu quota\/period 50000 100000\n/);
  assert.match(r.output, /start 3: /);
  assert.match(r.raisedRefused, /CreateContainerRequest is blocked by policy/);
});
