/**
 * Adapts the project's Rego engine (`src/rego`) to Trustee's {@link PolicyEngine}. One engine
 * per compiled policy; evaluation is synchronous, so sharing it between requests is safe.
 * Builtin errors are strict (abort), as with regorus, which upstream Trustee uses.
 *
 * Each evaluation hands the engine only the parts of `input` the policy reads (found once,
 * when it is compiled): a token's claims carry the nonce, keys and evidence no policy looks
 * at, and converting them was most of the work. Results of policies whose builtins are all
 * deterministic are remembered (`decision-memo.ts`): the same policy, the same parts of
 * `input`, the same `data` and rules and the same host function answers give the same result.
 */
import { createEngine, type JsonValue } from "../../../rego/index.js";
import {
  createDecisionMemo,
  exactKey,
  type HostCall,
  inputTrie,
  projectInput,
} from "./decision-memo.js";
import type { HostFunction, PolicyEngine, PreparedPolicy } from "./engine.js";

/** A PolicyEngine backed by `src/rego`. */
export function createRegoPolicyEngine(opts: { memoEntries?: number } = {}): PolicyEngine {
  return {
    prepare(text, hostFunctions = []) {
      const engine = createEngine();
      engine.setStrictBuiltinErrors(true);
      let bound: Readonly<Record<string, HostFunction>> = {};
      let calls: HostCall[] | undefined;
      for (const { name, arity } of hostFunctions) {
        engine.registerFunction(name, arity, (...args: JsonValue[]) => {
          const fn = bound[name];
          const raw = fn === undefined ? undefined : (fn(...args) as JsonValue | undefined);
          calls?.push({ name, args, raw, answer: exactKey(raw) });
          return raw;
        });
      }
      const pkg = engine.addPolicy("policy.rego", text);
      engine.prepare();
      const deps = engine.dependencies();
      const trie = inputTrie(deps.inputPaths);
      const memo =
        deps.deterministic && (opts.memoEntries ?? 256) > 0
          ? createDecisionMemo(opts.memoEntries ?? 256)
          : undefined;

      const run = (input: unknown, data: unknown, rules: readonly string[]) => {
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
      };

      const prepared: PreparedPolicy = {
        evaluate(input, data, rules, functions = {}) {
          const seen = projectInput(input, trie);
          const key = memo === undefined ? undefined : exactKey([seen, data ?? null, rules]);
          if (memo !== undefined && key !== undefined) {
            const hit = memo.get(key, (name, args) => {
              const fn = functions[name];
              return fn === undefined ? undefined : fn(...args);
            });
            if (hit !== undefined) return hit;
          }
          bound = functions;
          calls = key === undefined ? undefined : [];
          try {
            const out = run(seen, data, rules);
            if (memo !== undefined && key !== undefined && calls !== undefined) {
              memo.set(key, out, calls);
            }
            return out;
          } finally {
            bound = {};
            calls = undefined;
          }
        },
      };
      return prepared;
    },
  };
}
