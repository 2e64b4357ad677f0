import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEngine } from "./index.js";

describe("engine API", () => {
  test("evalRule distinguishes an undefined rule from a path that names nothing", () => {
    const e = createEngine();
    e.addPolicy("p.rego", "package p\nq if input.x\n");
    assert.equal(e.evalRule("data.p.q"), undefined);
    assert.throws(() => e.evalRule("data.p.nope"), { code: "ERR_REGO_RULE_PATH" });
    assert.throws(() => e.evalRule("data..p"), { code: "ERR_REGO_RULE_PATH" });
    assert.deepEqual(e.evalRule("data.p"), {});
    const o = createEngine();
    o.addPolicy("o.rego", 'package o\nclaims := {"executables": 3}\n');
    assert.equal(o.evalRule("data.o.claims.executables"), 3);
    assert.equal(o.evalRule("data.o.claims.hardware"), undefined);
  });

  test("sets come out as arrays sorted in OPA order", () => {
    const e = createEngine();
    e.addPolicy("p.rego", 'package p\ns contains x if some x in ["b", 1, null, "a", true]\n');
    assert.deepEqual(e.evalRule("data.p.s"), [null, true, 1, "a", "b"]);
  });

  test("host functions get JSON values and may return null, which is a value", () => {
    const e = createEngine();
    e.registerFunction("lookup", 1, (k) => (k === "a" ? [1, 2] : null));
    e.registerFunction("nothing", 0, () => undefined);
    e.addPolicy(
      "p.rego",
      'package p\nhit if 2 in lookup("a")\nmiss if 2 in lookup("b")\nisnull if is_null(lookup("b"))\nund if nothing()\n',
    );
    assert.equal(e.evalRule("data.p.hit"), true);
    assert.equal(e.evalRule("data.p.miss"), undefined);
    assert.equal(e.evalRule("data.p.isnull"), true);
    assert.equal(e.evalRule("data.p.und"), undefined);
  });

  test("print never fails: undefined arguments print <undefined>, lines carry file:line", () => {
    const e = createEngine();
    e.setGatherPrints(true);
    e.addPolicy(
      "pol.rego",
      'package p\nallow if {\n  print("state", input.missing, {"k": {1}}, 2)\n  not input.missing\n}\n',
    );
    e.setInput({});
    assert.equal(e.evalRule("data.p.allow"), true);
    assert.deepEqual(e.takePrints(), ['pol.rego:3: state <undefined> {"k": {1}} 2']);
    assert.deepEqual(e.takePrints(), []);
  });

  test("strict builtin errors abort; non-strict ones make the expression undefined", () => {
    const e = createEngine();
    e.addPolicy("p.rego", 'package p\nn := to_number("abc")\nd := 1 / input.z\n');
    e.setInput({ z: 0 });
    e.setStrictBuiltinErrors(true);
    assert.throws(() => e.evalRule("data.p.n"), { code: "ERR_REGO_BUILTIN" });
    assert.throws(
      () => e.evalRule("data.p.d"),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "ERR_REGO_BUILTIN");
        assert.match(err.message, /^p\.rego:3: eval_builtin_error: div: divide by zero$/);
        return true;
      },
    );
    e.setStrictBuiltinErrors(false);
    assert.equal(e.evalRule("data.p.n"), undefined);
    assert.equal(e.evalRule("data.p.d"), undefined);
  });

  test("data can be replaced between queries (Kata pstate), and results follow", () => {
    const e = createEngine();
    e.addPolicy("p.rego", 'package p\nseen if data.pstate.sandbox_name == "a"\n');
    e.addData({ pstate: {} });
    assert.equal(e.evalRule("data.p.seen"), undefined);
    e.clearData();
    e.addData({ pstate: { sandbox_name: "a" } });
    assert.equal(e.evalRule("data.p.seen"), true);
    assert.deepEqual(e.getData(), { pstate: { sandbox_name: "a" } });
  });

  test("evalQuery returns OPA's result shape, {} when undefined", () => {
    const e = createEngine();
    e.addPolicy("p.rego", "package p\nxs := [1, 2]\n");
    assert.deepEqual(e.evalQuery("data.p.xs[i] > 1"), {
      result: [
        {
          expressions: [{ value: true, text: "data.p.xs[i] > 1", location: { row: 1, col: 1 } }],
          bindings: { i: 1 },
        },
      ],
    });
    assert.deepEqual(e.evalQuery("data.p.xs[_] > 5"), {});
  });

  test("a clone shares compiled policies but not input or data", () => {
    const e = createEngine();
    e.addPolicy("p.rego", "package p\nx := input.v\n");
    e.setInput({ v: 1 });
    const c = e.clone();
    c.setInput({ v: 2 });
    assert.equal(e.evalRule("data.p.x"), 1);
    assert.equal(c.evalRule("data.p.x"), 2);
  });

  test("v0 syntax is accepted with setRegoV0, and v1 rejects a body without if", () => {
    const e = createEngine();
    e.setRegoV0(true);
    e.addPolicy("v0.rego", "package p\nallow { input.a }\ns[x] { x := input.xs[_] }\n");
    e.setInput({ a: true, xs: [2, 1] });
    assert.equal(e.evalRule("data.p.allow"), true);
    assert.deepEqual(e.evalRule("data.p.s"), [1, 2]);
    const multi = createEngine();
    multi.setRegoV0(true);
    multi.addPolicy("m.rego", "package m\np { input.a } { input.b }\n");
    multi.setInput({ b: true });
    assert.equal(multi.evalRule("data.m.p"), true);
    assert.throws(() => createEngine().addPolicy("v1.rego", "package p\nallow { true }\n"), {
      code: "ERR_REGO_PARSE",
    });
  });

  test("with replaces input, data and functions for one statement only", () => {
    const e = createEngine();
    e.addPolicy(
      "p.rego",
      "package p\nf(x) := x + 1\ng(x) := x * 10\nv := input.a\nr := [a, b, c, d] if {\n a := v with input.a as 5\n b := v\n c := f(1) with f as g\n d := data.q with data.q as 3\n}\n",
    );
    e.setInput({ a: 1 });
    assert.deepEqual(e.evalRule("data.p.r"), [5, 1, 10, 3]);
  });
});
