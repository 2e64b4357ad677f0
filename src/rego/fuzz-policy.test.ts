import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { toolPath } from "../../test/helpers/paths.js";
import { createEngine, type JsonValue } from "./index.js";

/**
 * Generative differential test of the language: random rule bodies (some/in, every, not,
 * unification, comprehensions, multi-body functions, else chains, partial sets and objects,
 * with) over random inputs, in coco-ts and in the real `opa`; every rule's value must agree.
 */
const opa = toolPath("opa");
const skip = existsSync(opa) ? false : "opa is not installed in .tools/bin (scripts/setup)";
const dir = mkdtempSync(join(tmpdir(), "rego-fuzzp-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const INPUT = {
  v: [
    [1, 2, 3],
    [3, 1, 2, 1],
    ["a", "b", "c"],
    { a: 1, b: 2, c: 3 },
    { x: [1, 2], y: [2, 3] },
    [],
    [
      [1, "a"],
      [2, "b"],
    ],
    [0, -1, 2.5, 10],
    { a: "x", b: "y" },
    ["b", 1, null, true],
  ],
};

const HELPERS = `
f(a) := a + 1 if is_number(a)
f(a) := count(a) if is_array(a)
f(a) := upper(a) if is_string(a)
g(a, b) := [a, b]
h(a) := "small" if { is_number(a); a < 2 }
else := "big" if is_number(a)
else := "other"
`;

function genRule(r: () => number, n: number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const col = () => `input.v[${Math.floor(r() * INPUT.v.length)}]`;
  const stmts: string[] = [];
  // Bind x (and maybe y) first.
  const bind = pick([
    () => `some x in ${col()}`,
    () => `some y, x in ${col()}`,
    () => `x := ${col()}[_]`,
    () => `${col()}[y] = x`,
  ])();
  stmts.push(bind);
  const hasY = bind.includes("y");
  const vars = hasY ? ["x", "y"] : ["x"];
  const v = () => pick(vars);
  const filters = [
    () => `${v()} != ${pick(['"a"', "1", "null"])}`,
    () => `${v()} > ${pick(["0", "1", '"a"'])}`,
    () => `not ${v()} in ${col()}`,
    () => `${v()} in ${col()}`,
    () => `every e in ${col()} { e != ${v()} }`,
    () => `count([z | some z in ${col()}; z == ${v()}]) ${pick(["==", ">"])} ${pick(["0", "1"])}`,
    () => `f(${v()}) ${pick(["==", "!="])} ${pick(["2", "3", '"A"', "1"])}`,
    () => `h(${v()}) == ${pick(['"small"', '"big"', '"other"'])}`,
    () => `not is_number(${v()})`,
    () => `${v()} == ${col()}[_]`,
    () => `[${v()}, _] = g(${v()}, 1)`,
  ];
  const nf = Math.floor(r() * 3);
  for (let i = 0; i < nf; i++) stmts.push(pick(filters)());
  const head = hasY && r() < 0.5 ? "[x, y]" : "x";
  const body = stmts.join("; ");
  switch (pick(["compr", "set", "obj", "fn", "every", "with"])) {
    case "compr":
      return `r${n} := [${head} | ${body}]`;
    case "set":
      return `r${n} contains ${head} if { ${body} }`;
    case "obj":
      // Keyed by the full head so values never conflict.
      return `r${n}[${head === "x" ? "x" : 'sprintf("%v", [[x, y]])'}] := f(x) if { ${body} }`;
    case "fn":
      return `r${n} := {h(x) | ${body}}`;
    case "every":
      return `r${n} if { every x in ${col()} { ${filters[Math.floor(r() * 4)]!().replace(/\by\b/g, "x")} } }`;
    default:
      return `r${n} := w if { w := [${head} | ${body}] with input.v as ${JSON.stringify([...INPUT.v].reverse())} }`;
  }
}

test("random rule bodies give OPA's results", { skip }, () => {
  const r = prng(77);
  const rules = Array.from({ length: 300 }, (_, i) => genRule(r, i));
  const policy = `package fz\n${HELPERS}\n${rules.join("\n")}\n`;
  const policyFile = join(dir, "fz.rego");
  const inputFile = join(dir, "input.json");
  writeFileSync(policyFile, policy);
  writeFileSync(inputFile, JSON.stringify(INPUT));
  const theirs = JSON.parse(
    execFileSync(opa, ["eval", "--format", "json", "-d", policyFile, "-i", inputFile, "data.fz"], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
    }),
  ).result[0].expressions[0].value as Record<string, JsonValue>;
  const e = createEngine();
  e.setStrictBuiltinErrors(false);
  e.addPolicy(policyFile, policy);
  e.setInput(INPUT);
  const ours = e.evalRule("data.fz") as Record<string, JsonValue>;
  const diffs: string[] = [];
  rules.forEach((rule, i) => {
    const a = JSON.stringify(ours[`r${i}`]);
    const b = JSON.stringify(theirs[`r${i}`]);
    if (a !== b) diffs.push(`${rule}\n    coco-ts: ${a}\n    opa:     ${b}`);
  });
  assert.ok(Object.keys(theirs).length > 150, "most rules are defined");
  assert.deepEqual(diffs, []);
});
