import assert from "node:assert/strict";
import { test } from "node:test";
import { demoKubernetes, kubernetesUnavailable } from "./kubernetes.js";

test("the kubernetes demo: crictl runs the confidential pod, only the digest is seen, exec and altered init-data are refused", async (t) => {
  const why = kubernetesUnavailable();
  if (why) return t.skip(why);
  const r = await demoKubernetes(() => {});
  assert.ok(r.logs.endsWith(r.expectedDigest));
  assert.equal(r.layersOnNode, 0);
  assert.match(r.execRefused, /ExecProcessRequest is blocked by policy/);
  assert.match(r.alteredRefused, /PolicyDeny/);
});
