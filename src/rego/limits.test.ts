import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEngine, RegoError } from "./index.js";

describe("limits: pathological policies and inputs end with a coded error", () => {
  test("unbounded function recursion stops with ERR_REGO_LIMIT", () => {
    const e = createEngine();
    e.addPolicy("p.rego", "package p\nf(x) := y if y := f(x + 1)\nr := f(0)\n");
    assert.throws(() => e.evalRule("data.p.r"), { code: "ERR_REGO_LIMIT" });
  });

  test("the engine keeps working after a query hit a limit", () => {
    const e = createEngine();
    e.addPolicy("p.rego", "package p\nf(x) := y if y := f(x + 1)\nr := f(0)\nok := 1\n");
    assert.throws(() => e.evalRule("data.p.r"), { code: "ERR_REGO_LIMIT" });
    assert.equal(e.evalRule("data.p.ok"), 1);
    assert.throws(() => e.evalRule("data.p.r"), { code: "ERR_REGO_LIMIT" });
  });

  test("a long chain of rules deeper than the depth limit stops with ERR_REGO_LIMIT", () => {
    const lines = ["package p"];
    for (let i = 0; i < 3000; i++) lines.push(`r${i} := r${i + 1}`);
    lines.push("r3000 := 1");
    const e = createEngine();
    e.addPolicy("p.rego", lines.join("\n"));
    assert.throws(() => e.evalRule("data.p.r0"), { code: "ERR_REGO_LIMIT" });
  });

  test("a combinatorial loop stops at the step budget", () => {
    const e = createEngine();
    e.setLimits({ maxSteps: 100_000 });
    e.addPolicy(
      "p.rego",
      "package p\nn := numbers.range(1, 1000)\ncount_all := count([1 | n[_]; n[_]; n[_]])\n",
    );
    assert.throws(() => e.evalRule("data.p.count_all"), { code: "ERR_REGO_LIMIT" });
  });

  test("a slow query stops at the wall-clock budget", () => {
    const e = createEngine();
    e.setLimits({ maxMillis: 50 });
    e.addPolicy(
      "p.rego",
      "package p\nn := numbers.range(1, 400)\nc := count([1 | n[_]; n[_]; n[_]])\n",
    );
    const t0 = Date.now();
    assert.throws(() => e.evalRule("data.p.c"), { code: "ERR_REGO_LIMIT", message: /ms/ });
    assert.ok(Date.now() - t0 < 5000);
  });

  test("mutually recursive rules are a recursion error, not a hang", () => {
    const e = createEngine();
    e.addPolicy("p.rego", "package p\na := b\nb := a\n");
    assert.throws(
      () => e.evalRule("data.p.a"),
      (err: unknown) => {
        assert.ok(err instanceof RegoError);
        assert.equal(err.opaCode, "rego_recursion_error");
        return true;
      },
    );
  });

  test("deeply nested JSON input and data are refused with ERR_REGO_INPUT", () => {
    const e = createEngine();
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    assert.throws(() => e.setInputJson(deep), { code: "ERR_REGO_INPUT" });
    let v: unknown = 1;
    for (let i = 0; i < 5000; i++) v = { a: v };
    assert.throws(() => e.addData(v), { code: "ERR_REGO_INPUT" });
  });

  test("deeply nested policy expressions are refused by the parser", () => {
    const e = createEngine();
    const src = `package p\nx := ${"[".repeat(50_000)}1${"]".repeat(50_000)}\n`;
    assert.throws(() => e.addPolicy("p.rego", src), { code: "ERR_REGO_PARSE" });
    const parens = `package p\nx := ${"(".repeat(50_000)}1${")".repeat(50_000)}\n`;
    assert.throws(() => e.addPolicy("p.rego", parens), { code: "ERR_REGO_PARSE" });
  });

  test("a large but legal input (1e5 items) evaluates within the default limits", () => {
    const e = createEngine();
    e.addPolicy("p.rego", "package p\nbig := count([x | some x in input.xs; x % 2 == 0])\n");
    e.setInput({ xs: Array.from({ length: 100_000 }, (_, i) => i) });
    assert.equal(e.evalRule("data.p.big"), 50_000);
  });
});
