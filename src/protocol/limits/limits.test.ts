import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../../../test/helpers/fuzz.js";
import { ParseLimitError } from "./errors.js";
import { createJsonScanner, DEFAULT_JSON_LIMITS, parseJsonLimited } from "./json.js";
import { checkTomlLimits, parseTomlLimited } from "./toml.js";
import { checkYamlLimits } from "./yaml.js";

const refused = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => e instanceof ParseLimitError && e.code === code);

test("JSON within the limits parses as JSON.parse does", () => {
  for (const v of [
    {},
    [],
    { a: [1, 2, { b: 'c\\"d' }], "e\u0000f": null, g: "\u00e9\ud83d\ude00" },
    {
      version: "0.4.0",
      tee: "sample",
      "extra-params": { "supported-hash-algorithms": ["sha384"] },
    },
    "plain",
    42,
  ]) {
    assert.deepEqual(parseJsonLimited(JSON.stringify(v)), v);
  }
});

test("JSON: depth, keys, values, strings and size are refused at their limit", () => {
  refused(() => parseJsonLimited("[".repeat(33) + "]".repeat(33)), "ERR_LIMIT_DEPTH");
  assert.deepEqual(
    parseJsonLimited("[".repeat(32) + "]".repeat(32)),
    JSON.parse("[".repeat(32) + "]".repeat(32)),
  );
  const keys = (n: number) =>
    JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])));
  refused(() => parseJsonLimited(keys(11), { maxKeysPerObject: 10 }), "ERR_LIMIT_KEYS");
  assert.equal(
    Object.keys(parseJsonLimited(keys(10), { maxKeysPerObject: 10 }) as object).length,
    10,
  );
  refused(() => parseJsonLimited(`[${"1,".repeat(100)}1]`, { maxValues: 50 }), "ERR_LIMIT_VALUES");
  refused(
    () => parseJsonLimited(JSON.stringify("x".repeat(101)), { maxStringBytes: 100 }),
    "ERR_LIMIT_STRING",
  );
  refused(
    () => parseJsonLimited(JSON.stringify({ ["k".repeat(101)]: 1 }), { maxStringBytes: 100 }),
    "ERR_LIMIT_STRING",
  );
  refused(() => parseJsonLimited(" ".repeat(11), { maxBytes: 10 }), "ERR_LIMIT_SIZE");
});

test("JSON: a duplicate key is refused however it is spelled, at any depth", () => {
  refused(() => parseJsonLimited('{"a":1,"a":2}'), "ERR_LIMIT_DUPLICATE_KEY");
  refused(() => parseJsonLimited('{"a":1,"\\u0061":2}'), "ERR_LIMIT_DUPLICATE_KEY");
  refused(
    () => parseJsonLimited('{"x":[{"tee":"a","b":{},"tee":"b"}]}'),
    "ERR_LIMIT_DUPLICATE_KEY",
  );
  // The same key in sibling or nested objects is not a duplicate.
  assert.deepEqual(parseJsonLimited('{"a":{"a":1},"b":{"a":2}}'), { a: { a: 1 }, b: { a: 2 } });
  // Keys that only look alike stay distinct.
  assert.deepEqual(
    Object.keys(parseJsonLimited('{"a":1,"A":2,"a ":3,"\\"a":4}') as object).length,
    4,
  );
});

test("JSON scanner: refusal happens at the chunk that breaks the limit", () => {
  const s = createJsonScanner();
  const deep = Buffer.from("[".repeat(64));
  refused(() => s.push(deep), "ERR_LIMIT_DEPTH");
  // Chunk boundaries inside keys, escapes and strings change nothing.
  const doc = Buffer.from('{"ab\\"c":"x\\\\y","ab\\"c":1}');
  for (let cut = 1; cut < doc.length; cut++) {
    const sc = createJsonScanner();
    assert.throws(
      () => {
        sc.push(doc.subarray(0, cut));
        sc.push(doc.subarray(cut));
      },
      (e: unknown) => e instanceof ParseLimitError && e.code === "ERR_LIMIT_DUPLICATE_KEY",
      `cut at ${cut}`,
    );
  }
});

test("JSON scanner agrees with JSON.parse on random documents split at random points", () => {
  const rng = new Rng(0xd00d);
  const gen = (d: number): unknown => {
    const r = rng.int(d > 4 ? 4 : 7);
    if (r === 0) return rng.int(1000) - 500;
    if (r === 1)
      return String.fromCharCode(...Array.from({ length: rng.int(6) }, () => 32 + rng.int(0x2000)));
    if (r === 2) return rng.pick([null, true, false, 1.5e3]);
    if (r === 3) return `k${rng.int(4)}`;
    if (r < 5) return Array.from({ length: rng.int(4) }, () => gen(d + 1));
    const o: Record<string, unknown> = {};
    for (let i = rng.int(4); i > 0; i--)
      o[rng.pick(["a", "b", '"q', "é", "\\", `k${rng.int(3)}`])] = gen(d + 1);
    return o;
  };
  for (let i = 0; i < 3000; i++) {
    const text = JSON.stringify(gen(0));
    const bytes = Buffer.from(text);
    const sc = createJsonScanner();
    const cut = rng.int(bytes.length + 1);
    sc.push(bytes.subarray(0, cut));
    sc.push(bytes.subarray(cut));
    assert.equal(sc.bytes, bytes.length);
    assert.deepEqual(parseJsonLimited(bytes), JSON.parse(text));
  }
  assert.equal(DEFAULT_JSON_LIMITS.maxDepth, 32);
});

test("TOML: nesting, dotted keys, keys, strings and size are refused before parsing", () => {
  refused(() => checkTomlLimits(`a = ${"[".repeat(17)}${"]".repeat(17)}`), "ERR_LIMIT_DEPTH");
  refused(() => checkTomlLimits(`a = ${"{b=".repeat(17)}1${"}".repeat(17)}`), "ERR_LIMIT_DEPTH");
  refused(
    () => checkTomlLimits(`${Array.from({ length: 20 }, (_, i) => `k${i}`).join(".")} = 1`),
    "ERR_LIMIT_DEPTH",
  );
  refused(
    () => checkTomlLimits(`[${Array.from({ length: 20 }, (_, i) => `t${i}`).join(".")}]`),
    "ERR_LIMIT_DEPTH",
  );
  refused(() => checkTomlLimits("k = 1\n".repeat(11), { maxKeys: 10 }), "ERR_LIMIT_KEYS");
  refused(
    () => checkTomlLimits(`s = "${"x".repeat(101)}"`, { maxStringLength: 100 }),
    "ERR_LIMIT_STRING",
  );
  refused(
    () => checkTomlLimits(`s = '''${"x".repeat(101)}'''`, { maxStringLength: 100 }),
    "ERR_LIMIT_STRING",
  );
  refused(() => checkTomlLimits("#".repeat(101), { maxBytes: 100 }), "ERR_LIMIT_SIZE");
  refused(() => parseTomlLimited("a = = 1"), "ERR_LIMIT_SYNTAX");
});

test("TOML: brackets, dots and = inside strings and comments do not count", () => {
  const doc = `# [[[[[[[[[[[[[[[[[[[[ = = =
version = "0.1.0"
algorithm = "sha384"
[data]
"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q" = "[[[[[[[[[[[[[[[[[[[[ = \\" ]"
"policy.rego" = '''
package agent_policy
default x := {{{{{{{{{{{{{{{{{{{{
'''
"cdh.toml" = """
a = "\\"" [[[[[[[[[[[[[[[[[[[[
"""
`;
  checkTomlLimits(doc, { maxKeys: 6 });
  const parsed = parseTomlLimited(doc);
  assert.equal(parsed.version, "0.1.0");
  assert.equal(Object.keys(parsed.data as object).length, 3);
});

test("YAML: depth, keys, aliases and line length are refused before parsing", () => {
  const nested = Array.from({ length: 40 }, (_, i) => `${"  ".repeat(i)}k${i}:`).join("\n");
  refused(() => checkYamlLimits(nested), "ERR_LIMIT_DEPTH");
  refused(() => checkYamlLimits(`a: ${"[".repeat(40)}${"]".repeat(40)}`), "ERR_LIMIT_DEPTH");
  refused(() => checkYamlLimits("k: 1\n".repeat(11), { maxKeys: 10 }), "ERR_LIMIT_KEYS");
  refused(() => checkYamlLimits(`a: &x 1\nb: [${"*x, ".repeat(11)}]`), "ERR_LIMIT_ALIASES");
  refused(
    () => checkYamlLimits(`a: ${"x".repeat(101)}`, { maxLineLength: 100 }),
    "ERR_LIMIT_STRING",
  );
  refused(() => checkYamlLimits("a: 1\n".repeat(30), { maxBytes: 100 }), "ERR_LIMIT_SIZE");
  checkYamlLimits(
    "docker:\n  registry.example/ns:\n    lookaside: https://x/y\n    use-sigstore-attachments: true\n# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\nk: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['\n",
  );
});

test("JSON and TOML scans stay linear on adversarial inputs (many short strings, many escapes)", () => {
  // Quadratic scans (a search to the end of the buffer per string or per escape) would take
  // minutes on these and hit the runner's hang bound; linear ones take milliseconds.
  const big = { maxBytes: 64 << 20, maxStringBytes: 64 << 20, maxValues: 1 << 24 };
  const strings = Buffer.from(`[${'"",'.repeat(2_500_000)}""]`);
  createJsonScanner(big).push(strings);
  const escapes = Buffer.from(`["${"\\\\".repeat(3_000_000)}\\""]`);
  createJsonScanner(big).push(escapes);
  const line = `a = [${'"x",'.repeat(1_000_000)}"x"]`;
  checkTomlLimits(line, { maxBytes: 64 << 20, maxKeys: 10 });
});
