/**
 * Adapts the project's Rego engine (`src/rego`) to Trustee's {@link PolicyEngine}. One engine
 * per compiled policy; evaluation is synchronous, so sharing it between requests is safe.
 * Builtin errors are strict (abort), as with regorus, which upstream Trustee uses.
 */
import { createEngine, type JsonValue } from "../../../rego/index.js";
import type { HostFunction, PolicyEngine, PreparedPolicy } from "./engine.js";

/** A PolicyEngine backed by `src/rego`. */
export function createRegoPolicyEngine(): PolicyEngine {
  return {
    prepare(text, hostFunctions = []) {
      const engine = createEngine();
      engine.setStrictBuiltinErrors(true);
      let bound: Readonly<Record<string, HostFunction>> = {};
      for (const { name, arity } of hostFunctions) {
        engine.registerFunction(name, arity, (...args: JsonValue[]) => {
          const fn = bound[name];
          return fn === undefined ? undefined : (fn(...args) as JsonValue | undefined);
        });
      }
      const pkg = engine.addPolicy("policy.rego", text);
      engine.prepare();
      const prepared: PreparedPolicy = {
        evaluate(input, data, rules, functions = {}) {
          bound = functions;
          try {
            engine.clearData();
            if (data !== undefined && data !== null) engine.addData(data);
            engine.setInput(input);
            const out: Record<string, unknown> = {};
            for (const rule of rules) {
              try {
                out[rule] = engine.evalRule(`${pkg}.${rule}`);
              } catch (err) {
                // A rule the policy does not define is undefined, not an error.
                if ((err as { code?: string }).code === "ERR_REGO_RULE_PATH") out[rule] = undefined;
                else throw err;
              }
            }
            return out;
          } finally {
            bound = {};
          }
        },
      };
      return prepared;
    },
  };
}
