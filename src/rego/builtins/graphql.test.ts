import assert from "node:assert/strict";
import { test } from "node:test";
import { toJs } from "../value/json.js";
import { graphqlBuiltins } from "./graphql.js";
import type { BuiltinContext } from "./types.js";

const ctx: BuiltinContext = { strict: true, nowNs: 0n, cache: new Map() };
const call = (name: string, ...args: string[]) => graphqlBuiltins[name]!.fn(args, ctx);

const SCHEMA = "type Query { hero(id: ID!): Hero }\ntype Hero { name: String }";

test("validates schemas and queries as gqlparser does (no Query type needed, empty query ok)", () => {
  assert.equal(call("graphql.schema_is_valid", SCHEMA), true);
  assert.equal(call("graphql.schema_is_valid", "scalar Hello"), true);
  assert.equal(call("graphql.schema_is_valid", "extend type User { id: ID! }"), true);
  assert.equal(call("graphql.schema_is_valid", "type A { b: Missing }"), false);
  assert.equal(call("graphql.is_valid", '{ hero(id: "1") { name } }', SCHEMA), true);
  assert.equal(call("graphql.is_valid", "{ hero { name } }", SCHEMA), false);
  assert.equal(call("graphql.is_valid", "", SCHEMA), true);
});

test("returns ASTs in gqlparser's shape and gqlparser-style syntax errors", () => {
  assert.deepEqual(toJs(call("graphql.parse_query", "{hero {name}}")!), {
    Operations: [
      {
        Name: "",
        Operation: "query",
        SelectionSet: [
          { Alias: "hero", Name: "hero", SelectionSet: [{ Alias: "name", Name: "name" }] },
        ],
      },
    ],
  });
  assert.deepEqual(toJs(call("graphql.parse_schema", "type Hello { world: String }")!), {
    Definitions: [
      {
        BuiltIn: false,
        Description: "",
        Fields: [{ Description: "", Name: "world", Type: { NamedType: "String", NonNull: false } }],
        Kind: "OBJECT",
        Name: "Hello",
      },
    ],
  });
  assert.throws(() => call("graphql.parse_query", "{"), {
    code: "ERR_REGO_BUILTIN",
    message: "graphql.parse_query: Expected Name, found <EOF> in GraphQL string at location 1:2",
  });
});

test("accepts ASTs returned by parse_query/parse_schema in place of text", () => {
  const schemaAst = call("graphql.parse_schema", `${SCHEMA}\nschema { query: Query }`)!;
  const queryAst = call(
    "graphql.parse_query",
    'query Q($id: ID! = "1") { h: hero(id: $id) { name } }',
  )!;
  assert.equal(graphqlBuiltins["graphql.is_valid"]!.fn([queryAst, schemaAst], ctx), true);
  assert.equal(graphqlBuiltins["graphql.schema_is_valid"]!.fn([schemaAst], ctx), true);
  const bad = call("graphql.parse_query", "{ hero { name } }")!;
  assert.equal(graphqlBuiltins["graphql.is_valid"]!.fn([bad, schemaAst], ctx), false);
});
