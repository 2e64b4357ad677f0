import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEngine, type JsonValue } from "../index.js";
import { BUILTIN_TABLES } from "./registry.js";

/** Evaluates `expr` as a query; undefined when it has no value. */
function val(expr: string, strict = true): JsonValue | undefined {
  const e = createEngine();
  e.setStrictBuiltinErrors(strict);
  const r = e.evalQuery(`__x := ${expr}`).result;
  return r?.[0]?.bindings.__x;
}

// Expected values checked against `opa eval` (OPA v1) when this table was written.
const CASES: [string, JsonValue | undefined][] = [
  ['count("héllo")', 5],
  ["count({1, 2, 2})", 2],
  ['count({"a": 1})', 1],
  ['concat("/", ["a", "b"])', "a/b"],
  ['concat(",", {"b", "a"})', "a,b"],
  ['contains("abc", "bc")', true],
  ['lower("ÀB")', "àb"],
  ['replace("a.b.c", ".", "/")', "a/b/c"],
  ['split("a=b=c", "=")', ["a", "b", "c"]],
  ['split("", ",")', [""]],
  ['startswith("/run/x", "/run")', true],
  ['substring("héllo", 1, 3)', "éll"],
  ['substring("abc", 1, -1)', "bc"],
  ['substring("abc", 5, 1)', ""],
  ['trim_prefix("CAP_CHOWN", "CAP_")', "CHOWN"],
  ['trim_prefix("CHOWN", "CAP_")', "CHOWN"],
  ['sprintf("%v-%d-%s-%.2f", [{"a": [1]}, 7, "x", 1.5])', '{"a": [1]}-7-x-1.50'],
  ['sprintf("%v", [{1, "a"}])', '{1, "a"}'],
  ['to_number("12")', 12],
  ['to_number("-1.5e2")', -150],
  ["to_number(true)", 1],
  ["to_number(null)", 0],
  ["is_null(null)", true],
  ["is_null(0)", false],
  ["bits.and(12, 10)", 8],
  ["bits.or(12, 10)", 14],
  ["bits.negate(5)", -6],
  ["array.concat([1], [2, 3])", [1, 2, 3]],
  ['object.union_n([{"a": {"b": 1}}, {"a": {"c": 2}}, {"d": 3}])', { a: { b: 1, c: 2 }, d: 3 }],
  ["sum([1, 2.5])", 3.5],
  ["max([1, 3, 2])", 3],
  ["max([])", undefined],
  ["sort([3, 1, 2])", [1, 2, 3]],
  ["9007199254740993 + 2", 9007199254740995n],
  ["10 / 4", 2.5],
  ["7 % 3", 1],
  ["round(-2.5)", -3],
  ["{1, 2} - {2}", [1]],
  ["numbers.range(3, 1)", [3, 2, 1]],
  ["format_int(255, 16)", "ff"],
];

describe("core builtins CoCo policies call", () => {
  for (const [expr, want] of CASES) {
    test(`${expr} = ${JSON.stringify(want, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`, () => {
      assert.deepEqual(val(expr), want);
    });
  }

  test("type errors abort in strict mode and are undefined otherwise", () => {
    assert.throws(() => val("count(1)"), { code: "ERR_REGO_TYPE" });
    assert.equal(val("count(1)", false), undefined);
    assert.throws(() => val('to_number("abc")'), { code: "ERR_REGO_BUILTIN" });
    assert.equal(val('to_number("abc")', false), undefined);
    assert.throws(() => val("bits.and(1.5, 1)"), { code: "ERR_REGO_TYPE" });
  });

  test("no builtin name is defined by two namespace tables", () => {
    const seen = new Map<string, number>();
    BUILTIN_TABLES.forEach((t, i) => {
      for (const name of Object.keys(t)) {
        assert.ok(!seen.has(name), `${name} defined in tables ${seen.get(name)} and ${i}`);
        seen.set(name, i);
      }
    });
  });
});
