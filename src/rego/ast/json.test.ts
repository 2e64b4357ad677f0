import assert from "node:assert/strict";
import { test } from "node:test";
import { parseModule } from "../parser/parser.js";
import { toJs } from "../value/json.js";
import { moduleToOpaJson } from "./json.js";

test("serialises a module as OPA's AST JSON (package path, imports, rule heads, calls)", () => {
  const m = parseModule("package foo.bar\nimport data.a\np if { a == 1 }\n", "x.rego");
  const j = toJs(moduleToOpaJson(m)) as Record<string, unknown>;
  assert.deepEqual(j.package, {
    path: [
      { type: "var", value: "data" },
      { type: "string", value: "foo" },
      { type: "string", value: "bar" },
    ],
  });
  assert.deepEqual((j.imports as unknown[])[0], {
    path: {
      type: "ref",
      value: [
        { type: "var", value: "data" },
        { type: "string", value: "a" },
      ],
    },
  });
  const rule = (j.rules as Record<string, unknown>[])[0]!;
  assert.deepEqual((rule.head as Record<string, unknown>).value, { type: "boolean", value: true });
  assert.deepEqual((rule.body as Record<string, unknown>[])[0], {
    index: 0,
    terms: [
      { type: "ref", value: [{ type: "var", value: "equal" }] },
      { type: "var", value: "a" },
      { type: "number", value: 1 },
    ],
  });
});
