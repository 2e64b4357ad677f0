import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { toolPath } from "../../test/helpers/paths.js";
import { createEngine, type JsonValue } from "./index.js";

/**
 * Generative differential test: random expressions over random inputs, evaluated as rules in
 * coco-ts and in the real `opa` (non-strict builtin errors in both), results compared exactly.
 * Operands come from `input` and nested results pass through `object.get` (typed `any`), so
 * OPA's compile-time type checker cannot reject the module.
 */
const opa = toolPath("opa");
const skip = existsSync(opa) ? false : "opa is not installed in .tools/bin (scripts/setup)";
const dir = mkdtempSync(join(tmpdir(), "rego-fuzz-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const VALUES: JsonValue[] = [
  0,
  1,
  2,
  3,
  -1,
  7,
  10,
  2.5,
  -0.5,
  255,
  1e3,
  "",
  "a",
  "abc",
  "a,b,c",
  "Hello",
  "  pad  ",
  "12",
  "3.5",
  "x=y",
  "héllo",
  "%d-%v",
  true,
  false,
  null,
  [],
  [1, 2, 3],
  ["b", "a", "c"],
  [1, "a", null],
  [[1], [2, 3]],
  [3, 1, 2, 1],
  {},
  { a: 1 },
  { a: 1, b: { c: 2 } },
  { x: "y", z: [1] },
];

const UNARY = [
  "count",
  "sum",
  "product",
  "max",
  "min",
  "sort",
  "lower",
  "upper",
  "abs",
  "round",
  "ceil",
  "floor",
  "to_number",
  "is_number",
  "is_string",
  "is_array",
  "is_object",
  "is_set",
  "is_null",
  "is_boolean",
  "type_name",
  "object.keys",
  "strings.reverse",
  "trim_space",
  "bits.negate",
  "array.reverse",
  "array.flatten",
  "union",
  "intersection",
];
const BINARY = [
  "concat",
  "contains",
  "startswith",
  "endswith",
  "split",
  "trim",
  "trim_left",
  "trim_right",
  "trim_prefix",
  "trim_suffix",
  "indexof",
  "indexof_n",
  "array.concat",
  "object.union",
  "object.remove",
  "object.filter",
  "format_int",
  "bits.and",
  "bits.or",
  "bits.xor",
  "bits.lsh",
  "bits.rsh",
  "strings.any_prefix_match",
  "strings.any_suffix_match",
  "strings.count",
  "sprintf",
  "object.subset",
];
const TERNARY = ["substring", "replace", "object.get", "array.slice"];
const OPS = ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "|", "&"];

function expr(r: () => number, depth: number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const leaf = () => `input.v[${Math.floor(r() * VALUES.length)}]`;
  if (depth > 2) return leaf();
  const k = r();
  // object.get(...) is typed `any`, so OPA's type checker cannot reject a nested call.
  const sub = () => `object.get({"k": ${expr(r, depth + 1)}}, "k", null)`;
  if (k < 0.25) return leaf();
  if (k < 0.45) return `${pick(UNARY)}(${sub()})`;
  if (k < 0.65) return `${pick(BINARY)}(${sub()}, ${sub()})`;
  if (k < 0.72) return `${pick(TERNARY)}(${sub()}, ${sub()}, ${sub()})`;
  if (k < 0.85) return `(${sub()} ${pick(OPS)} ${sub()})`;
  if (k < 0.9) return `{${sub()}, ${sub()}}`;
  if (k < 0.95) return `[x | some x in ${sub()}]`;
  return `{k: v | some k, v in ${sub()}}`;
}

test("random builtin/operator expressions give OPA's results", { skip }, () => {
  const r = prng(2026);
  const rules: string[] = [];
  for (let i = 0; i < 400; i++) rules.push(`r${i} := ${expr(r, 0)}`);
  const policy = `package fuzz\n\n${rules.join("\n")}\n`;
  const input = { v: VALUES };
  const policyFile = join(dir, "fuzz.rego");
  const inputFile = join(dir, "input.json");
  writeFileSync(policyFile, policy);
  writeFileSync(inputFile, JSON.stringify(input));
  const theirs = JSON.parse(
    execFileSync(
      opa,
      ["eval", "--format", "json", "-d", policyFile, "-i", inputFile, "data.fuzz"],
      {
        encoding: "utf8",
        maxBuffer: 64 << 20,
      },
    ),
  ).result[0].expressions[0].value as Record<string, JsonValue>;
  const e = createEngine();
  e.setStrictBuiltinErrors(false);
  e.addPolicy(policyFile, policy);
  e.setInput(input);
  const ours = e.evalRule("data.fuzz") as Record<string, JsonValue>;
  const diffs: string[] = [];
  for (let i = 0; i < rules.length; i++) {
    const a = JSON.stringify(ours[`r${i}`]);
    const b = JSON.stringify(theirs[`r${i}`]);
    if (a !== b) diffs.push(`${rules[i]}\n    coco-ts: ${a}\n    opa:     ${b}`);
  }
  const defined = Object.keys(theirs).length;
  assert.ok(defined > 100, `only ${defined} of ${rules.length} expressions were defined in OPA`);
  assert.deepEqual(diffs, []);
});
