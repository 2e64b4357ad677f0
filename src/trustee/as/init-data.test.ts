import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { parse } from "smol-toml";
import { processInitDataToml, tomlToUpstreamJson } from "./init-data.js";

const doc = (aa: string) =>
  `version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"aa.toml" = '''\n${aa}'''\n"policy.rego" = '''\npackage agent_policy\npolicy_data := {"containers": [1]}\n'''\n`;

test("the digest is taken over the bytes as received, not a re-serialized form", () => {
  const a = doc('[token_configs.kbs]\nurl = "http://k"\n');
  const b = a.replace('version = "0.1.0"', 'version  =  "0.1.0"');
  const ra = processInitDataToml(a);
  assert.deepEqual(Buffer.from(ra.digest), createHash("sha256").update(a).digest());
  assert.notDeepEqual(Buffer.from(processInitDataToml(b).digest), Buffer.from(ra.digest));
  assert.deepEqual(ra.claims["aa.toml"], { token_configs: { kbs: { url: "http://k" } } });
  assert.deepEqual(ra.claims.agent_policy_claims, { containers: [1] });
  assert.equal(ra.claims["policy.rego"], undefined);
});

test("TOML date-times in aa.toml/cdh.toml claims take upstream's serde shape", () => {
  const r = processInitDataToml(
    doc(
      "a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00.5-07:00\nc = 1979-05-27\nd = 07:32:00\n",
    ),
  );
  assert.deepEqual(r.claims["aa.toml"], {
    a: { $__toml_private_datetime: "1979-05-27T07:32:00Z" },
    b: { $__toml_private_datetime: "1979-05-27T00:32:00.5-07:00" },
    c: { $__toml_private_datetime: "1979-05-27" },
    d: { $__toml_private_datetime: "07:32:00" },
  });
  assert.deepEqual(tomlToUpstreamJson(parse("x = [1979-05-27T07:32:00.120]")), {
    x: [{ $__toml_private_datetime: "1979-05-27T07:32:00.12" }],
  });
});

test("an aa.toml that is not TOML stays a string, as upstream", () => {
  const r = processInitDataToml(doc("this is [not toml\n"));
  assert.equal(r.claims["aa.toml"], "this is [not toml\n");
});
