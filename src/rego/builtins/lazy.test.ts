import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEngine } from "../index.js";
import { graphqlBuiltins } from "./graphql.js";
import { lazyTable } from "./lazy.js";
import { BUILTINS, GRAPHQL_ARITIES, X509_ARITIES } from "./registry.js";
import type { BuiltinTable } from "./types.js";
import { x509Builtins } from "./x509.js";

describe("lazily loaded builtin tables", () => {
  for (const [name, arities, real] of [
    ["crypto.x509", X509_ARITIES, x509Builtins],
    ["graphql", GRAPHQL_ARITIES, graphqlBuiltins],
  ] as [string, Record<string, number>, BuiltinTable][]) {
    test(`${name}: the registry names every builtin of the module with its arity`, () => {
      assert.deepEqual(
        Object.fromEntries(Object.entries(real).map(([k, d]) => [k, d.arity])),
        arities,
      );
      for (const [k, d] of Object.entries(real)) {
        assert.equal(d.nondeterministic, undefined, `${k} is nondeterministic`);
        assert.equal(BUILTINS[k]?.arity, d.arity, k);
      }
    });
  }

  test("a lazy table loads its module once, on the first call, and passes the call through", () => {
    let loads = 0;
    const t = lazyTable({ "x.f": 1 }, () => {
      loads++;
      return { "x.f": { arity: 1, fn: (args) => `got ${String(args[0])}` } };
    });
    assert.equal(loads, 0);
    const ctx = { strict: true, nowNs: 0n, cache: new Map() };
    assert.equal(t["x.f"]!.fn(["a"], ctx), "got a");
    assert.equal(t["x.f"]!.fn(["b"], ctx), "got b");
    assert.equal(loads, 1);
  });

  test("a lazy table names a builtin its module lacks", () => {
    const t = lazyTable({ "x.g": 1 }, () => ({}));
    assert.throws(() => t["x.g"]!.fn([1], { strict: true, nowNs: 0n, cache: new Map() }), /x\.g/);
  });

  test("policies call the lazily loaded builtins through the engine", () => {
    const e = createEngine();
    const r = e.evalQuery('x := graphql.schema_is_valid("type Query { a: Int }")').result;
    assert.equal(r?.[0]?.bindings.x, true);
    // The module's own error, as before the table was lazy.
    assert.throws(() => e.evalQuery('x := crypto.x509.parse_certificates("not a cert")'), {
      message: /crypto\.x509\.parse_certificates: illegal base64 data/,
    });
  });
});
