// run-tests: timeout 10 min (a one-node cluster from source, Trustee and two pods; about 90 s unloaded)
import assert from "node:assert/strict";
import { test } from "node:test";
import { demoKubectl, kubectlUnavailable } from "./kubectl.js";

test("the kubectl demo: a confidential pod through kubectl, only the digest is seen, exec and altered init-data are refused", async (t) => {
  const why = kubectlUnavailable();
  if (why) return t.skip(why);
  const r = await demoKubectl(() => {});
  assert.ok(r.logs.endsWith(r.expectedDigest));
  assert.match(r.execRefused, /ExecProcessRequest is blocked by policy/);
  assert.equal(r.phase, "Succeeded");
  assert.match(r.alteredEvent, /^Failed: .*KBS answered 401: PolicyDeny/);
});
