/**
 * The resource policy with upstream's own policy-engine test policies
 * (`../shared/fixtures/evidence/policy/policy_{1..5}.rego`, read in place) and the built-in ones.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import {
  RESOURCE_POLICY_AFFIRMING,
  RESOURCE_POLICY_ALLOW_ALL,
  RESOURCE_POLICY_DEFAULT,
  RESOURCE_POLICY_DENY_ALL,
} from "../as/policy/default-policies.js";
import { createRegoPolicyEngine } from "../as/policy/rego-engine.js";
import { createMemoryStore } from "../storage/memory.js";
import { createResourcePolicy } from "./resource-policy.js";

const engine = createRegoPolicyEngine();
const dir = "fixtures/evidence/policy";

function claims(sample: Record<string, unknown> | undefined, status = "affirming") {
  const evidence: Record<string, unknown> = { report_data: "x" };
  if (sample !== undefined) evidence.sample = sample;
  else evidence.tdx = { quote: {} };
  return {
    submods: { cpu0: { "ear.status": status, "ear.veraison.annotated-evidence": evidence } },
  };
}

const data = (...path: string[]) => ({ plugin: "resource", "resource-path": path, query: {} });

async function decide(text: string, input: unknown, d: ReturnType<typeof data>): Promise<boolean> {
  const p = await createResourcePolicy(createMemoryStore(), engine);
  await p.set(text);
  return (await p.evaluate(input, d)).allow;
}

const read = (name: string) => readFileSync(sharedPath(`${dir}/${name}`), "utf8");

test("upstream policy_1 and policy_4: productId must equal resource-path[1]", {
  skip: sharedSkip(dir),
}, async () => {
  for (const name of ["policy_1.rego", "policy_4.rego"]) {
    const text = read(name);
    assert.equal(
      await decide(text, claims({ productId: "test" }), data("myrepo", "test", "key")),
      true,
      name,
    );
    assert.equal(
      await decide(text, claims({ productId: "test" }), data("myrepo", "other", "key")),
      false,
      name,
    );
    assert.equal(
      await decide(text, claims({ productId: "test" }), data("myrepo", "test")),
      false,
      name,
    );
    assert.equal(await decide(text, claims(undefined), data("myrepo", "test", "key")), false, name);
  }
});

test("upstream policy_2 allows and policy_3 denies", { skip: sharedSkip(dir) }, async () => {
  assert.equal(await decide(read("policy_2.rego"), claims({}), data("a", "b", "c")), true);
  assert.equal(await decide(read("policy_3.rego"), claims({}), data("a", "b", "c")), false);
});

test("upstream policy_5: a minimum svn per secret", { skip: sharedSkip(dir) }, async () => {
  const text = read("policy_5.rego");
  assert.equal(await decide(text, claims({ svn: 3 }), data("myrepo", "secret", "secret2")), true);
  assert.equal(await decide(text, claims({ svn: 2 }), data("myrepo", "secret", "secret2")), false);
  assert.equal(await decide(text, claims({ svn: 2 }), data("myrepo", "secret", "secret1")), true);
  assert.equal(await decide(text, claims({ svn: 9 }), data("myrepo", "secret", "secret3")), false);
  assert.equal(await decide(text, claims({ svn: 9 }), data("other", "secret", "secret1")), false);
});

test("built-in policies: default refuses sample, allow_all, deny_all, affirming", async () => {
  assert.equal(await decide(RESOURCE_POLICY_DEFAULT, claims({}), data("a", "b", "c")), false);
  assert.equal(
    await decide(
      RESOURCE_POLICY_DEFAULT,
      claims(undefined, "contraindicated"),
      data("a", "b", "c"),
    ),
    true,
  );
  assert.equal(await decide(RESOURCE_POLICY_ALLOW_ALL, claims({}), data("a", "b", "c")), true);
  assert.equal(
    await decide(RESOURCE_POLICY_ALLOW_ALL, claims({}), { ...data("a"), plugin: "other" }),
    false,
  );
  assert.equal(await decide(RESOURCE_POLICY_DENY_ALL, claims({}), data("a", "b", "c")), false);
  assert.equal(await decide(RESOURCE_POLICY_AFFIRMING, claims({}), data("a", "b", "c")), true);
  assert.equal(
    await decide(RESOURCE_POLICY_AFFIRMING, claims({}, "warning"), data("a", "b", "c")),
    false,
  );
  assert.equal(
    await decide(RESOURCE_POLICY_AFFIRMING, { submods: {} }, data("a", "b", "c")),
    false,
  );
});

test("a policy that does not compile is refused; one with a non-boolean allow denies", async () => {
  const p = await createResourcePolicy(createMemoryStore(), engine);
  await assert.rejects(p.set("package policy\nallow if {"), { code: "ERR_KBS_POLICY_ENGINE" });
  await p.set('package policy\nallow := "yes"\n');
  const d = await p.evaluate(claims({}), data("a", "b", "c"));
  assert.deepEqual(d, { allow: false, reason: 'data.policy.allow is "yes"' });
});

test("a policy another writer stores (a replica) decides the next evaluation, and back again", async () => {
  const kv = createMemoryStore();
  const p = await createResourcePolicy(kv, engine);
  const d = data("a", "b", "c");
  await p.set(RESOURCE_POLICY_ALLOW_ALL);
  assert.equal((await p.evaluate(claims({}), d)).allow, true);
  assert.equal((await p.evaluate(claims({}), d)).allow, true);
  // Written to the store directly, not through this instance: read on the next call.
  const put = (text: string) =>
    kv.put("kbs", "resource-policy.rego", new TextEncoder().encode(text));
  await put(RESOURCE_POLICY_DENY_ALL);
  assert.equal((await p.evaluate(claims({}), d)).allow, false);
  await put(RESOURCE_POLICY_ALLOW_ALL);
  assert.equal((await p.evaluate(claims({}), d)).allow, true);
});
