import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEngine } from "../../../rego/index.js";
import { createAgentPolicy } from "./agent-policy.js";
import { applyPatch } from "./json-patch.js";

const newEngine = () => createEngine();
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

describe("agent policy", () => {
  test("denies everything when no policy is loaded", () => {
    const p = createAgentPolicy({ newEngine });
    assert.equal(p.loaded, false);
    const d = p.check("CreateContainerRequest", {});
    assert.equal(d.allowed, false);
    assert.match(d.reason ?? "", /deny by default/);
  });

  test("a rule the policy does not define denies", () => {
    const p = createAgentPolicy({ newEngine, policy: "package agent_policy\ndefault A := true\n" });
    assert.equal(p.check("A", {}).allowed, true);
    const d = p.check("CreateContainerRequest", {});
    assert.equal(d.allowed, false);
    assert.match(d.reason ?? "", /undefined/);
  });

  test("applies the ops of an allowed decision to pstate and lets later rules see them", () => {
    const p = createAgentPolicy({
      newEngine,
      policy: `package agent_policy
import rego.v1
Create := {"allowed": true, "ops": [{"op": "add", "path": concat("/", ["/pstate", input.id]), "value": 1}]} if {
  not data.pstate[input.id]
}
Seen if data.pstate[input.id] == 1
`,
    });
    assert.equal(p.check("Seen", { id: "c1" }).allowed, false);
    assert.equal(p.check("Create", { id: "c1" }).allowed, true);
    assert.deepEqual(p.state(), { c1: 1 });
    assert.equal(p.check("Seen", { id: "c1" }).allowed, true);
    assert.equal(p.check("Create", { id: "c1" }).allowed, false, "the second create is refused");
  });

  test("reports the policy's print output with a denial", () => {
    const p = createAgentPolicy({
      newEngine,
      policy:
        'package agent_policy\nimport rego.v1\nX if {\n  print("no match for", input.name)\n  false\n}\n',
    });
    const d = p.check("X", { name: "app" });
    assert.equal(d.allowed, false);
    assert.match(d.prints, /no match for app/);
  });

  test("SetPolicy replaces the policy and clears the state", () => {
    const p = createAgentPolicy({
      newEngine,
      policy:
        'package agent_policy\nimport rego.v1\nC := {"allowed": true, "ops": [{"op": "add", "path": "/pstate/k", "value": 1}]}\n',
    });
    p.check("C", {});
    assert.deepEqual(p.state(), { k: 1 });
    p.setPolicy("package agent_policy\ndefault C := false\n");
    assert.deepEqual(p.state(), {});
    assert.equal(p.check("C", {}).allowed, false);
  });

  test("honours AllowRequestsFailingPolicy (Kata's debug hatch) and says so", () => {
    const p = createAgentPolicy({
      newEngine,
      policy:
        "package agent_policy\ndefault AllowRequestsFailingPolicy := true\ndefault X := false\n",
    });
    const d = p.check("X", {});
    assert.equal(d.allowed, true);
    assert.match(d.reason ?? "", /AllowRequestsFailingPolicy/);
  });

  test("a policy that does not parse is a coded error", () => {
    assert.throws(
      () => createAgentPolicy({ newEngine, policy: "package agent_policy\nX if {" }),
      code("ERR_AGENT_POLICY"),
    );
  });

  test("a rule returning neither a boolean nor {allowed, ops} is a coded error", () => {
    const p = createAgentPolicy({ newEngine, policy: 'package agent_policy\nX := "yes"\n' });
    assert.throws(() => p.check("X", {}), code("ERR_AGENT_POLICY"));
  });
});

describe("JSON patch on the policy state", () => {
  test("add, replace, remove, test, move and copy", () => {
    let d: Record<string, unknown> = { pstate: { a: 1, l: [1, 2] } };
    d = applyPatch(d, [
      { op: "add", path: "/pstate/b", value: { x: 1 } },
      { op: "replace", path: "/pstate/a", value: 2 },
      { op: "add", path: "/pstate/l/-", value: 3 },
      { op: "test", path: "/pstate/a", value: 2 },
      { op: "copy", from: "/pstate/b", path: "/pstate/c" },
      { op: "move", from: "/pstate/c", path: "/pstate/d" },
      { op: "remove", path: "/pstate/l/0" },
    ]);
    assert.deepEqual(d, { pstate: { a: 2, b: { x: 1 }, d: { x: 1 }, l: [2, 3] } });
  });

  test("is all-or-nothing and refuses bad paths", () => {
    const d = { pstate: { a: 1 } };
    assert.throws(
      () =>
        applyPatch(d, [
          { op: "add", path: "/pstate/b", value: 1 },
          { op: "remove", path: "/pstate/zz" },
        ]),
      code("ERR_AGENT_POLICY"),
    );
    assert.deepEqual(d, { pstate: { a: 1 } });
    assert.throws(
      () => applyPatch(d, [{ op: "add", path: "pstate", value: 1 }]),
      code("ERR_AGENT_POLICY"),
    );
    assert.throws(() => applyPatch(d, [{ op: "remove", path: "" }]), code("ERR_AGENT_POLICY"));
    assert.throws(
      () => applyPatch(d, [{ op: "test", path: "/pstate/a", value: 2 }]),
      code("ERR_AGENT_POLICY"),
    );
  });
});
