import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RegoError } from "../errors.js";
import { fromJs, toJs } from "../value/json.js";
import { type ObjectValue, SetValue, type Value } from "../value/value.js";
import { jsonBuiltins } from "./json.js";
import { jsonSchemaBuiltins } from "./json-schema.js";
import type { BuiltinContext } from "./types.js";
import { yamlBuiltins } from "./yaml.js";

const ctx = (): BuiltinContext => ({ strict: true, nowNs: 0n, cache: new Map() });
const call = (name: string, ...args: Value[]) => {
  const def = jsonBuiltins[name] ?? yamlBuiltins[name] ?? jsonSchemaBuiltins[name];
  assert.ok(def, name);
  return def.fn(args, ctx());
};
const v = (x: unknown) => fromJs(x);
const fails = (name: string, code: string, text: string, ...args: Value[]) =>
  assert.throws(
    () => call(name, ...args),
    (e: unknown) => e instanceof RegoError && e.code === code && e.message.includes(text),
  );

describe("json builtins", () => {
  it("marshals like Go: sorted keys, sets as arrays, HTML-safe escapes, exact big ints", () => {
    const o = v({ b: [1, 2n ** 70n], a: "<&>\u2028" });
    assert.equal(
      call("json.marshal", o),
      '{"a":"\\u003c\\u0026\\u003e\\u2028","b":[1,1180591620717411303424]}',
    );
    assert.equal(call("json.marshal", SetValue.of([3, 1])), "[1,3]");
    assert.equal(
      call("json.marshal_with_options", v({ a: [1] }), v({ prefix: "> ", indent: "  " })),
      '> {\n>   "a": [\n>     1\n>   ]\n> }',
    );
    fails(
      "json.marshal_with_options",
      "ERR_REGO_TYPE",
      'object contained unknown key "x"',
      v([]),
      v({ x: 1 }),
    );
    fails(
      "json.marshal_with_options",
      "ERR_REGO_TYPE",
      'key "pretty" failed cast to bool',
      v([]),
      v({ pretty: 1 }),
    );
  });

  it("unmarshals JSON losslessly and rejects garbage, truncation and wrong types", () => {
    assert.equal(
      (call("json.unmarshal", '{"n": 123456789012345678901}') as ObjectValue).get("n"),
      123456789012345678901n,
    );
    fails("json.unmarshal", "ERR_REGO_BUILTIN", "json.unmarshal:", '{"a": ');
    fails("json.unmarshal", "ERR_REGO_BUILTIN", "json.unmarshal:", "[1] x");
    fails("json.unmarshal", "ERR_REGO_TYPE", "operand 1 must be string but got number", 1);
    fails(
      "json.unmarshal",
      "ERR_REGO_BUILTIN",
      "json.unmarshal:",
      `${"[".repeat(5000)}${"]".repeat(5000)}`,
    );
    assert.equal(call("json.is_valid", "{"), false);
    assert.equal(call("json.is_valid", 7), false);
  });

  it("filter and remove take pointer strings or segment arrays", () => {
    const doc = v({ a: { b: { c: 7, d: 8 } }, e: [0, 1, 2] });
    assert.deepEqual(toJs(call("json.filter", doc, SetValue.of(["a/b/c", "e/1"])) as Value), {
      a: { b: { c: 7 } },
      e: [1],
    });
    assert.deepEqual(toJs(call("json.remove", doc, v([["a", "b"], "/e/0"])) as Value), {
      a: {},
      e: [1, 2],
    });
    fails(
      "json.remove",
      "ERR_REGO_TYPE",
      "operand 2 must be one of {set, array} but got string",
      doc,
      "a",
    );
    fails(
      "json.filter",
      "ERR_REGO_TYPE",
      "containing string paths or array of path segments but got number",
      doc,
      v([1]),
    );
    fails("json.filter", "ERR_REGO_TYPE", "operand 1 must be object but got array", v([]), v([]));
  });

  it("patch applies RFC 6902 ops and is undefined when an op fails", () => {
    const doc = v({ a: [1, 2], s: SetValue.of(["x"]) });
    const ops = v([
      { op: "add", path: "/a/-", value: 3 },
      { op: "replace", path: "/a/0", value: 0 },
      { op: "add", path: "/s/y", value: "y" },
      { op: "copy", from: "/a", path: "/b" },
      { op: "move", from: "/b/2", path: "/c" },
      { op: "test", path: "/c", value: 3 },
    ]);
    const r = call("json.patch", doc, ops) as ObjectValue;
    assert.deepEqual(toJs(r), { a: [0, 2, 3], b: [0, 2], c: 3, s: ["x", "y"] });
    assert.equal(call("json.patch", doc, v([{ op: "remove", path: "/nope" }])), undefined);
    assert.equal(call("json.patch", doc, v([{ op: "test", path: "/a/01", value: 2 }])), undefined);
    assert.equal(call("json.patch", doc, v([{ op: "bogus", path: "/a" }])), undefined);
    assert.equal(call("json.patch", doc, v([1])), undefined);
    fails("json.patch", "ERR_REGO_TYPE", "operand 2 must be array", doc, v({}));
  });
});

describe("yaml builtins", () => {
  it("unmarshals scalars as OPA's go-yaml v3 does: YAML 1.2 booleans, legacy octal, strings for timestamps", () => {
    const o = call(
      "yaml.unmarshal",
      "a: yes\nb: 0x10\nc: 2001-12-14\nd: ~\n1: one\ne: 010\nf: 1_000\ng: True\nh: 0b11\n",
    ) as ObjectValue;
    assert.deepEqual(toJs(o), {
      "1": "one",
      a: "yes",
      b: 16,
      c: "2001-12-14",
      d: null,
      e: 8,
      f: 1000,
      g: true,
      h: 3,
    });
  });

  it("marshals in go-yaml v3 style: indented sequences, quotes only where a plain scalar would change type", () => {
    const text = call(
      "yaml.marshal",
      v({ s: ["yes", "a: b", "x\ny", "012", "plain"], on: [1] }),
    ) as string;
    assert.equal(
      text,
      '"on":\n  - 1\ns:\n  - "yes"\n  - \'a: b\'\n  - |-\n    x\n    y\n  - "012"\n  - plain\n',
    );
  });

  it("reports go-yaml's text for unterminated flow collections", () => {
    fails(
      "yaml.unmarshal",
      "ERR_REGO_BUILTIN",
      "yaml: line 1: did not find expected ',' or ']'",
      "[1,2,3",
    );
    fails("yaml.unmarshal", "ERR_REGO_BUILTIN", "yaml: line 1:", "a: b: c");
    fails("yaml.unmarshal", "ERR_REGO_TYPE", "operand 1 must be string", 3);
    assert.equal(call("yaml.is_valid", "foo: {"), false);
    assert.equal(call("yaml.is_valid", null), false);
  });

  it("refuses alias bombs and deep nesting before parsing", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
      .concat(
        ["b", "c", "d", "e", "f", "g"].map(
          (k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdef"[i]}`).join(", ")}]`,
        ),
      )
      .join("\n");
    fails("yaml.unmarshal", "ERR_REGO_BUILTIN", "yaml.unmarshal:", bomb);
    fails(
      "yaml.unmarshal",
      "ERR_REGO_BUILTIN",
      "nested deeper than",
      `${"[".repeat(5000)}${"]".repeat(5000)}`,
    );
    fails("yaml.unmarshal", "ERR_REGO_BUILTIN", "nested deeper than", `${"- ".repeat(500)}x`);
    assert.equal(call("yaml.is_valid", `${"{a: ".repeat(300)}1${"}".repeat(300)}`), false);
  });

  it("round-trips through marshal", () => {
    const doc = v([{ foo: SetValue.of([3, 1, 2]), t: "true", n: null }]);
    const text = call("yaml.marshal", doc) as string;
    assert.deepEqual(toJs(call("yaml.unmarshal", text) as Value), [
      { foo: [1, 2, 3], t: "true", n: null },
    ]);
  });
});

describe("json schema builtins", () => {
  const schema = v({
    properties: { id: { type: "integer" }, tags: { type: "array", maxItems: 1 } },
    required: ["id"],
    additionalProperties: false,
  });
  it("verify_schema reports gojsonschema's text for bad type names", () => {
    assert.deepEqual(toJs(call("json.verify_schema", '{"type":"boolean"}') as Value), [true, null]);
    const [ok, err] = toJs(
      call("json.verify_schema", v({ properties: { a: { type: "int" } } })) as Value,
    ) as [boolean, string];
    assert.equal(ok, false);
    assert.match(err, /^jsonschema: has a primitive type that is NOT VALID -- given: \/int\//);
    fails(
      "json.match_schema",
      "ERR_REGO_BUILTIN",
      "has a primitive type that is NOT VALID",
      v({}),
      v({ type: "x" }),
    );
    fails("json.match_schema", "ERR_REGO_BUILTIN", "schema is not valid JSON", v({}), "{");
  });

  it("match_schema returns gojsonschema-shaped errors", () => {
    assert.deepEqual(toJs(call("json.match_schema", '{"id": 5}', schema) as Value), [true, []]);
    const [ok, errs] = toJs(
      call("json.match_schema", v({ id: 1.5, tags: [1, 2], x: 0 }), schema) as Value,
    ) as [boolean, { field: string; type: string; desc: string }[]];
    assert.equal(ok, false);
    const byType = Object.fromEntries(errs.map((e) => [e.type, e]));
    assert.equal(byType.invalid_type?.desc, "Invalid type. Expected: integer, given: number");
    assert.equal(byType.invalid_type?.field, "id");
    assert.equal(byType.array_max_items?.field, "tags");
    assert.equal(
      byType.additional_property_not_allowed?.desc,
      "Additional property x is not allowed",
    );
    const [, missing] = toJs(call("json.match_schema", v({}), schema) as Value) as [
      boolean,
      { error: string }[],
    ];
    assert.deepEqual(
      missing.map((e) => e.error),
      ["(Root): id is required"],
    );
  });
  it("checks pattern with RE2, so backtracking-prone patterns stay linear", () => {
    const s = v({ properties: { a: { pattern: "^(a+)+$" }, list: { items: { pattern: "^x" } } } });
    const t0 = Date.now();
    const [ok, errs] = toJs(
      call("json.match_schema", v({ a: `${"a".repeat(40)}!`, list: ["xy", "zz"] }), s) as Value,
    ) as [boolean, { field: string; type: string }[]];
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(ok, false);
    assert.deepEqual(
      errs.map((e) => [e.field, e.type]),
      [
        ["a", "pattern"],
        ["list.1", "pattern"],
      ],
    );
  });

  it("refuses what it cannot check safely, with coded errors", () => {
    fails(
      "json.match_schema",
      "ERR_REGO_BUILTIN",
      "patternProperties is not supported",
      v({}),
      v({ patternProperties: { "^a": {} } }),
    );
    fails(
      "json.match_schema",
      "ERR_REGO_BUILTIN",
      "pattern inside anyOf is not supported",
      v({}),
      v({ anyOf: [{ pattern: "a" }] }),
    );
    fails("json.match_schema", "ERR_REGO_BUILTIN", "invalid pattern", v({}), v({ pattern: "(" }));
    fails(
      "json.match_schema",
      "ERR_REGO_BUILTIN",
      "cyclic $ref",
      v({ a: 1 }),
      v({ $ref: "#/definitions/a", definitions: { a: { $ref: "#/definitions/a" } } }),
    );
    fails(
      "json.match_schema",
      "ERR_REGO_BUILTIN",
      "Unresolved $ref",
      v({}),
      v({ $ref: "http://example.com/s.json" }),
    );
  });
});
