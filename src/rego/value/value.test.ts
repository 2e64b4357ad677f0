import assert from "node:assert/strict";
import { test } from "node:test";
import { formatValue } from "./format.js";
import { fromJs, parseJsonValue, toJs, toJsonText } from "./json.js";
import { compare, equal, ObjectValue, SetValue, type Value } from "./value.js";

test("orders types as OPA does: null < boolean < number < string < array < object < set", () => {
  const vals: Value[] = [
    SetValue.of([1]),
    ObjectValue.fromRecord({ a: 1 }),
    [1],
    "a",
    1,
    true,
    false,
    null,
  ];
  const sorted = [...vals].sort(compare).map((v) => formatValue(v));
  assert.deepEqual(sorted, ["null", "false", "true", "1", '"a"', "[1]", '{"a": 1}', "{1}"]);
});

test("compares numbers by value across float and bigint", () => {
  assert.ok(equal(1, 1.0));
  assert.ok(equal(2n ** 64n, 2 ** 64));
  assert.equal(compare(2n ** 64n + 1n, 2 ** 64), 1);
  assert.ok(SetValue.of([1, 1.0, 2n ** 70n]).has(2n ** 70n));
  assert.equal(SetValue.of([1, 1.0]).size, 1);
});

test("compares strings by code point like Go, not by UTF-16 unit", () => {
  assert.equal(compare("\u{1F600}", "\uFFFF"), 1);
  assert.equal(compare("a", "ab"), -1);
});

test("keeps string keys distinct from equal-looking non-string keys", () => {
  const o = new ObjectValue();
  o.set("1", "s");
  o.set(1, "n");
  o.set("\u0000x", "z");
  assert.equal(o.size, 3);
  assert.equal(o.get(1), "n");
  assert.equal(o.get("1"), "s");
  assert.equal(o.get("\u0000x"), "z");
});

test("converts to JSON with sets as sorted arrays and exact big integers", () => {
  const v = fromJs({ b: new Set([3, 1, 2]), a: [null, true] });
  assert.deepEqual(toJs(v), { a: [null, true], b: [1, 2, 3] });
  assert.equal(
    toJsonText(parseJsonValue('{"n": 123456789012345678901234567890}')),
    '{"n":123456789012345678901234567890}',
  );
});

test("rejects truncated, garbage and over-deep JSON with ERR_REGO_INPUT", () => {
  for (const bad of ['{"a":', "[1,2", "tru", '"abc', "{} x", "[".repeat(2000) + "]".repeat(2000)]) {
    assert.throws(() => parseJsonValue(bad), { code: "ERR_REGO_INPUT" });
  }
  let deep: unknown = 1;
  for (let i = 0; i < 2000; i++) deep = [deep];
  assert.throws(() => fromJs(deep), { code: "ERR_REGO_INPUT" });
});

test("formats values in Rego syntax for print", () => {
  assert.equal(formatValue(new SetValue()), "set()");
  assert.equal(
    formatValue(fromJs({ b: [1, "x"], a: new Set(["q"]) })),
    '{"a": {"q"}, "b": [1, "x"]}',
  );
  assert.equal(formatValue(undefined), "<undefined>");
});

test("a __proto__ key in untrusted JSON stays a plain key on the way in and out", () => {
  const v = parseJsonValue('{"__proto__": {"polluted": true}, "a": 1}');
  const out = toJs(v) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ["__proto__", "a"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const back = fromJs(JSON.parse('{"__proto__": {"x": 1}}'));
  assert.equal(toJsonText(back), '{"__proto__":{"x":1}}');
});
