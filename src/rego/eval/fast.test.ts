import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEngine } from "../index.js";

function engine(policy: string, input?: unknown) {
  const e = createEngine();
  e.addPolicy("p.rego", `package p\n${policy}`);
  if (input !== undefined) e.setInput(input);
  return e;
}

describe("straight-line statements and loops", () => {
  test("variables bound by straight-line statements are unbound again for the next element", () => {
    const e = engine(`
s contains y if {
  some x in [1, 2, 3]
  y := x * 10
  z := y + 1
  z > 11
}
o[k] := w if {
  some k, v in {"a": 1, "b": 2}
  w := concat("-", [k, format_int(v, 10)])
}`);
    assert.deepEqual(e.evalRule("data.p.s"), [20, 30]);
    assert.deepEqual(e.evalRule("data.p.o"), { a: "a-1", b: "b-2" });
  });

  test("every: empty domain holds, undefined or scalar domain fails, one failing element fails", () => {
    const e = engine(
      `
empty if every x in [] { x > 100 }
undef if every x in input.missing { x > 0 }
scalar if every x in 5 { x > 0 }
some_fail if every k, v in {"a": 1, "b": -1} { v > 0; k != "" }
all_ok if every k, v in {"a": 1, "b": 2} { v > 0; k != "" }
set_ok if every x in {1, 2} { x > 0 }`,
      {},
    );
    assert.equal(e.evalRule("data.p.empty"), true);
    assert.equal(e.evalRule("data.p.undef"), undefined);
    assert.equal(e.evalRule("data.p.scalar"), undefined);
    assert.equal(e.evalRule("data.p.some_fail"), undefined);
    assert.equal(e.evalRule("data.p.all_ok"), true);
    assert.equal(e.evalRule("data.p.set_ok"), true);
  });

  test("not, comparisons and unification of ground terms keep OPA's undefined rules", () => {
    const e = engine(
      `
a if not input.x
b if not input.y == 1
c if { input.y = 2 }
d if { [1, input.y] = [1, 2] }
e := v if { v := input.missing }
f if { 2 = input.y }`,
      { y: 2 },
    );
    assert.equal(e.evalRule("data.p.a"), true);
    assert.equal(e.evalRule("data.p.b"), true);
    assert.equal(e.evalRule("data.p.c"), true);
    assert.equal(e.evalRule("data.p.d"), true);
    assert.equal(e.evalRule("data.p.e"), undefined);
    assert.equal(e.evalRule("data.p.f"), true);
  });
});

describe("constant data refs", () => {
  test("a constant data path read inside a with scope sees the replaced data, outside the base", () => {
    const e = engine(`
r := [data.cfg.v, g, data.cfg.v, h]
g := x if { x := data.cfg.v with data.cfg.v as 5 }
h := x if { x := data.cfg.w with data.cfg as {"w": 7} }`);
    e.addData({ cfg: { v: 1, w: 2 } });
    assert.deepEqual(e.evalRule("data.p.r"), [1, 5, 1, 7]);
  });
});

describe("function call memo", () => {
  test("a function called with the same arguments many times is evaluated once per query", () => {
    // 400 calls of a 2,000-step function would need ~800k steps; with the memo one call does.
    const e = engine(`
heavy(x) := count([y | some y in numbers.range(1, 2000); y > x])
r := [heavy(0) | some _ in numbers.range(1, 400)]`);
    e.setLimits({ maxSteps: 50_000 });
    const r = e.evalRule("data.p.r") as number[];
    assert.equal(r.length, 400);
    assert.ok(r.every((n) => n === 2000));
  });

  test("functions that print still print on every call while prints are gathered", () => {
    const e = engine(`
f(x) := y if {
  print("f", x)
  y := x + 1
}
r := [f(1), f(1), f(2)]`);
    e.setGatherPrints(true);
    assert.deepEqual(e.evalRule("data.p.r"), [2, 2, 3]);
    assert.deepEqual(e.takePrints(), ["p.rego:4: f 1", "p.rego:4: f 1", "p.rego:4: f 2"]);
  });

  test("a result remembered outside a with scope is not reused inside it, nor the reverse", () => {
    const e = engine(
      `
f(x) := input.a + x
r := [f(1), g, f(1)]
g := v if { v := f(1) with input.a as 10 }`,
      { a: 1 },
    );
    assert.deepEqual(e.evalRule("data.p.r"), [2, 11, 2]);
  });

  test("undefined results are remembered as undefined, not as a value", () => {
    const e = engine(
      `
f(x) := y if { y := input.t[x] }
r := [v | some k in ["a", "b", "a", "c"]; v := f(k)]`,
      { t: { a: 1, c: 3 } },
    );
    assert.deepEqual(e.evalRule("data.p.r"), [1, 1, 3]);
  });
});
