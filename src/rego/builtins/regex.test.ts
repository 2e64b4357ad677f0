// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go Expand templates (`${name}`) are under test
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RegoError } from "../errors.js";
import type { Value } from "../value/value.js";
import { GlobIntersectLimitError, globsIntersect } from "./glob-intersect.js";
import { expandTemplate, MAX_PATTERN_LENGTH } from "./re2.js";
import { quoteMeta, regexBuiltins } from "./regex.js";
import type { BuiltinContext } from "./types.js";

const ctx = (): BuiltinContext => ({ strict: true, nowNs: 0n, cache: new Map() });
const call = (name: string, ...args: Value[]) => {
  const def = regexBuiltins[name];
  assert.ok(def, name);
  assert.equal(def.arity, args.length);
  return def.fn(args, ctx());
};
const code = (name: string, c: string, ...args: Value[]) =>
  assert.throws(
    () => call(name, ...args),
    (e: unknown) => e instanceof RegoError && e.code === c,
  );

describe("regex builtins (Go RE2 semantics)", () => {
  it("accepts Go-only syntax that JS RegExp lacks", () => {
    assert.equal(call("regex.match", "(?i)^(?P<w>[[:alpha:]]+)\\z", "HeLLo"), true);
    assert.equal(call("regex.match", "^\\pL+$", "héllo"), true);
    assert.equal(call("regex.match", "^a$", "b"), false);
  });

  it("reports Go's parse error text as a builtin error", () => {
    assert.throws(
      () => call("regex.match", "(", "x"),
      (e: unknown) =>
        e instanceof RegoError &&
        e.code === "ERR_REGO_BUILTIN" &&
        e.message === "regex.match: error parsing regexp: missing closing ): `(`",
    );
    code("regex.split", "ERR_REGO_BUILTIN", "a{2,1}", "aa");
    code("regex.replace", "ERR_REGO_BUILTIN", "x", "[", "y");
    code("regex.match", "ERR_REGO_BUILTIN", "a".repeat(MAX_PATTERN_LENGTH + 1), "a");
  });

  it("rejects non-string operands with a type error", () => {
    code("regex.match", "ERR_REGO_TYPE", 1, "x");
    code("regex.match", "ERR_REGO_TYPE", "x", null);
    code("regex.find_n", "ERR_REGO_TYPE", "a", "a", 1.5);
    code("regex.find_all_string_submatch_n", "ERR_REGO_TYPE", "a", "a", "1");
  });

  it("is_valid is false for bad patterns and non-strings, never an error", () => {
    assert.equal(call("regex.is_valid", "++"), false);
    assert.equal(call("regex.is_valid", 10), false);
    assert.equal(call("regex.is_valid", "(?P<x>a)"), true);
  });

  it("splits like Go, including empty and anchored edges", () => {
    assert.deepEqual(call("regex.split", "a", "banana"), ["b", "n", "n", ""]);
    assert.deepEqual(call("regex.split", "x", ""), [""]);
    assert.deepEqual(call("regex.split", "", ""), []);
    assert.deepEqual(call("regex.split", "", "abc"), ["a", "b", "c"]);
  });

  it("finds all matches, ignoring empty matches abutting a previous one", () => {
    assert.deepEqual(call("regex.find_n", "a*", "baaac", -1), ["", "aaa", ""]);
    assert.deepEqual(call("regex.find_n", "a.", "paranormal", 0), []);
    assert.deepEqual(call("regex.find_all_string_submatch_n", "a(x)?(b)", "ab axb", -1), [
      ["ab", "", "b"],
      ["axb", "x", "b"],
    ]);
    // Indices are over UTF-16 strings; astral characters stay whole.
    assert.deepEqual(call("regex.find_n", ".", "a😀", -1), ["a", "😀"]);
  });

  it("replaces with Go Expand templates", () => {
    assert.equal(call("regex.replace", "foo", "(foo)", "$1$1"), "foofoo");
    assert.equal(call("regex.replace", "ab", "(?P<x>a)", "[${x}]$$"), "[a]$b");
    // `$1x` names group "1x", which does not exist: expands to "".
    assert.equal(call("regex.replace", "ab", "(a)", "$1x"), "b");
    assert.equal(call("regex.replace", "abc", "x*", "-"), "-a-b-c-");
    assert.equal(expandTemplate("${ }$", "a", [0, 1], {}), "${ }$");
  });

  it("template_match compiles delimited parts and checks delimiters", () => {
    assert.equal(call("regex.template_match", "urn:foo:{.*}", "urn:foo:bar:baz", "{", "}"), true);
    assert.equal(call("regex.template_match", "urn.foo:<[0-9]+>", "urnxfoo:1", "<", ">"), false);
    code("regex.template_match", "ERR_REGO_BUILTIN", "a{b", "a", "{", "}");
    code("regex.template_match", "ERR_REGO_BUILTIN", "a{(}", "a", "{", "}");
    code("regex.template_match", "ERR_REGO_BUILTIN", "a", "a", "{{", "}");
  });

  it("quoteMeta escapes exactly Go's metacharacters", () => {
    assert.equal(quoteMeta("a.b-c[d]$"), "a\\.b-c\\[d\\]\\$");
  });
});

describe("regex.globs_match (glob intersection)", () => {
  it("decides whether two globs share a string", () => {
    assert.equal(call("regex.globs_match", "a.a.[0-9]+z", ".b.b2359825792*594823z"), true);
    assert.equal(call("regex.globs_match", "[a-z]+", "[0-9]*"), false);
    assert.equal(call("regex.globs_match", "ab*c", "a.+"), true);
    assert.equal(call("regex.globs_match", "abc", "abd"), false);
  });

  it("reports malformed globs with the library's text and bounds the search", () => {
    assert.throws(
      () => call("regex.globs_match", "pqrs]", "[a-b]+"),
      (e: unknown) =>
        e instanceof RegoError &&
        e.code === "ERR_REGO_BUILTIN" &&
        e.message.endsWith(
          "input:pqrs], pos:5, set-close ']' with no preceding '[': the input provided is invalid",
        ),
    );
    code("regex.globs_match", "ERR_REGO_BUILTIN", "[ab", "a");
    code("regex.globs_match", "ERR_REGO_BUILTIN", "*a", "a");
    code("regex.globs_match", "ERR_REGO_BUILTIN", "a\\", "a");
    code("regex.globs_match", "ERR_REGO_BUILTIN", "a*".repeat(5000), "a");
    assert.throws(
      () => globsIntersect(`${".*a".repeat(8)}b`, `${"a".repeat(24)}c*`, 10_000),
      GlobIntersectLimitError,
    );
  });
});
