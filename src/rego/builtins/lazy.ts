import { createRequire } from "node:module";
import type { BuiltinTable } from "./types.js";

/**
 * A builtin table whose implementation module is loaded on the first call of one of its
 * builtins. For namespaces whose libraries cost more to load than most policies use them
 * (X.509 with its ASN.1 schemas, GraphQL): `coco rego eval`, the agent and Trustee start
 * without them. `arities` names every builtin of the table with its arity (a test checks it
 * against the loaded table, so the two cannot drift); `load` returns the real table.
 */
export function lazyTable(
  arities: Readonly<Record<string, number>>,
  load: () => BuiltinTable,
): BuiltinTable {
  let table: BuiltinTable | undefined;
  const out: Record<string, BuiltinTable[string]> = {};
  for (const [name, arity] of Object.entries(arities)) {
    out[name] = {
      arity,
      fn: (args, ctx) => {
        table ??= load();
        const def = table[name];
        if (def === undefined) throw new Error(`builtin ${name} is missing from its module`);
        return def.fn(args, ctx);
      },
    };
  }
  return Object.freeze(out);
}

let nodeRequire: NodeJS.Require | undefined;

/**
 * node's require for a module of this folder, in tsc's output (ES modules, loaded through
 * require(esm)). A bundle never calls it: there `require` is the bundle's own, and esbuild
 * bundles each literal `require("./x.js")` as a module initialised on first call.
 */
export function requireHere(path: string): unknown {
  nodeRequire ??= createRequire(import.meta.url);
  return nodeRequire(path);
}
