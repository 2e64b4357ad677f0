import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RegoError } from "../errors.js";
import { parseModule, parseQuery } from "./parser.js";

const SAMPLE = `package kata.agent
import rego.v1
import future.keywords.in

default allow := false

allow if {
  some c in input.containers
  every m in c.mounts { startswith(m.dest, "/run") }
  not c.privileged
  x := [v | v := c.env[_]; contains(v, "=")]
  count(x) > 0
}

f(a, b) := a + b if a > 0
else := 0

s contains k if some k, _ in input.labels
o[k] := v if { some k, v in {"a": 1} }
raw := \`no \\escape\`
`;

describe("parser", () => {
  test("puts a source location on every rule and statement", () => {
    const m = parseModule(SAMPLE, "sample.rego");
    assert.deepEqual(m.pkg, ["kata", "agent"]);
    const allow = m.rules.find(
      (r) => r.head[0]?.type === "var" && r.head[0].name === "allow" && !r.isDefault,
    )!;
    assert.deepEqual(allow.loc, { file: "sample.rego", line: 7, col: 1 });
    assert.deepEqual(
      allow.body.map((l) => l.loc.line),
      [8, 9, 10, 11, 12],
    );
  });

  test("reports syntax errors as ERR_REGO_PARSE with file:line", () => {
    assert.throws(
      () => parseModule("package p\nallow if {\n  x := \n}\n", "bad.rego"),
      (e: unknown) => {
        assert.ok(e instanceof RegoError);
        assert.equal(e.code, "ERR_REGO_PARSE");
        assert.equal(e.location?.file, "bad.rego");
        return true;
      },
    );
  });

  test("every truncation of a valid module either parses or fails with ERR_REGO_PARSE", () => {
    for (let i = 0; i < SAMPLE.length; i++) {
      try {
        parseModule(SAMPLE.slice(0, i), "t.rego");
      } catch (e) {
        assert.ok(e instanceof RegoError && e.code === "ERR_REGO_PARSE", `offset ${i}: ${e}`);
      }
    }
  });

  test("random garbage never crashes the parser", () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const alphabet = 'package p{}[]()"`.,:=|&+-*/%<>!ifnotsomeineverywith _x1\n\t#\\';
    for (let n = 0; n < 2000; n++) {
      let s = "package p\n";
      const len = rnd() % 60;
      for (let i = 0; i < len; i++) s += alphabet[rnd() % alphabet.length];
      try {
        parseModule(s, "g.rego");
      } catch (e) {
        assert.ok(
          e instanceof RegoError && e.code === "ERR_REGO_PARSE",
          `${JSON.stringify(s)}: ${e}`,
        );
      }
    }
  });

  test("parses queries with several statements", () => {
    assert.equal(parseQuery("x := 1; y = x + 1\nz := y").length, 3);
  });
});
