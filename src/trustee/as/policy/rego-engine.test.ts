import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { exactKey, projectInput } from "./decision-memo.js";
import { DEFAULT_CPU_POLICY, RESOURCE_POLICY_DEFAULT } from "./default-policies.js";
import { createRegoPolicyEngine } from "./rego-engine.js";

const qrv = [{ name: "query_reference_value", arity: 1 }];

describe("rego policy engine: projection and memo", () => {
  test("exact keys tell apart what JSON text would merge", () => {
    assert.notEqual(exactKey({ a: 0 }), exactKey({ a: -0 }));
    assert.notEqual(exactKey({ a: 1 }), exactKey({ a: 1n }));
    assert.notEqual(exactKey(["1"]), exactKey([1]));
    assert.equal(exactKey({ a: new Uint8Array(1) }), undefined);
    assert.equal(exactKey({ a: Number.NaN }), undefined);
    assert.equal(exactKey("x".repeat(20_000)), undefined);
  });

  test("the projection keeps exactly the parts a policy reads", () => {
    const engine = createRegoPolicyEngine();
    // Through the public behaviour: a policy reading input.a.b sees the same with or without
    // the rest; the rest is dropped by projectInput for the trie of [["a","b"]].
    const p = engine.prepare(`package policy\nimport rego.v1\nv := input.a.b`);
    assert.deepEqual(p.evaluate({ a: { b: [1], c: 2 }, d: 3 }, {}, ["v"]).v, [1]);
    const trie = new Map([["a", new Map([["b", true as const]])]]);
    assert.deepEqual(projectInput({ a: { b: [1], c: 2 }, d: 3 }, trie), { a: { b: [1] } });
    assert.deepEqual(projectInput({ a: "text" }, trie), { a: "text" });
    assert.deepEqual(projectInput([1], trie), [1]);
  });

  test("a remembered result is reused only while the reference values answer the same", () => {
    const p = createRegoPolicyEngine().prepare(DEFAULT_CPU_POLICY, qrv);
    const input = (nonce: string) => ({
      sample: {
        svn: "1",
        launch_digest: "abc",
        debug: false,
        platform_version: { major: 1, minor: 2 },
      },
      report_data: nonce,
      runtime_data_claims: { nonce },
    });
    let calls = 0;
    let values: Record<string, unknown> = {};
    const fns = {
      query_reference_value: (n: unknown) => {
        calls++;
        return values[n as string] ?? null;
      },
    };
    const first = p.evaluate(input("n1"), {}, ["trust_claims"], fns);
    assert.equal((first.trust_claims as Record<string, number>).executables, 33);
    // A different nonce (not read by the policy) with the same claims: the same result.
    const again = p.evaluate(input("n2"), {}, ["trust_claims"], fns);
    assert.equal(again, first);
    // Registering reference values changes the answer: evaluated afresh.
    values = { launch_digest: ["abc"], svn: ["1"], major_version: 1, minimum_minor_version: 0 };
    const after = p.evaluate(input("n3"), {}, ["trust_claims"], fns);
    assert.equal((after.trust_claims as Record<string, number>).executables, 3);
    assert.equal((after.trust_claims as Record<string, number>).hardware, 2);
    assert.ok(calls > 0);
    // Different claims are a different key.
    const other = p.evaluate(
      { ...input("n4"), sample: { ...input("n4").sample, debug: true } },
      {},
      ["trust_claims"],
      fns,
    );
    assert.equal((other.trust_claims as Record<string, number>).configuration, 36);
    // Remembered results cannot be changed by a caller.
    assert.throws(() => {
      (after.trust_claims as Record<string, number>).executables = 0;
    }, TypeError);
  });

  test("policies that read the clock are evaluated every time", () => {
    const p = createRegoPolicyEngine().prepare(
      `package policy\nimport rego.v1\nt := time.now_ns()`,
    );
    const a = p.evaluate({}, {}, ["t"]).t;
    const b = p.evaluate({}, {}, ["t"]).t;
    assert.equal(typeof a, "bigint");
    assert.notEqual(p.evaluate({}, {}, ["t"]), p.evaluate({}, {}, ["t"]));
    assert.ok((b as bigint) >= (a as bigint));
  });

  test("the default resource policy still refuses sample evidence and allows the rest", () => {
    const p = createRegoPolicyEngine().prepare(RESOURCE_POLICY_DEFAULT);
    const claims = (tee: string) => ({
      submods: {
        cpu0: { "ear.veraison.annotated-evidence": { [tee]: { x: 1 }, nonce: Math.random() } },
      },
    });
    const data = { plugin: "resource", "resource-path": ["a", "b", "c"], query: {} };
    assert.equal(p.evaluate(claims("sample"), data, ["allow"]).allow, false);
    assert.equal(p.evaluate(claims("snp"), data, ["allow"]).allow, true);
    assert.equal(p.evaluate(claims("sample"), data, ["allow"]).allow, false);
    assert.equal(p.evaluate(claims("snp"), { ...data, plugin: "other" }, ["allow"]).allow, false);
  });
});
