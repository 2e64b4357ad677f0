import { RegoError } from "../errors.js";
import { formatValue } from "../value/format.js";
import { equal, ObjectValue, SetValue, type Value } from "../value/value.js";
import { evalBody } from "./body.js";
import { evalCall } from "./calls.js";
import { index, iterate } from "./collections.js";
import { conflict, type EvalContext, type VK } from "./context.js";
import type { CTerm } from "./ir.js";
import { binaryOp, negate } from "./ops.js";
import { evalDataRef } from "./refs.js";
import { isPattern, unify, unifyTerms } from "./unify.js";

/** Frame of variable slots for one rule/function/query evaluation. */
export type Frame = (Value | undefined)[];

/** Marks "this term needs full evaluation" for {@link simpleValue}. */
export const NOT_SIMPLE: unique symbol = Symbol("not-simple");

/**
 * The value of a term that cannot iterate (constant, bound variable, input, or a ref into one
 * with constant or bound keys), computed without continuations; `undefined` when undefined;
 * NOT_SIMPLE otherwise. A fast path: most operands in real policies are of this kind.
 */
export function simpleValue(
  ctx: EvalContext,
  t: CTerm,
  f: Frame,
): Value | undefined | typeof NOT_SIMPLE {
  switch (t.t) {
    case "const":
      return t.v;
    case "local": {
      const v = f[t.slot];
      return v === undefined ? NOT_SIMPLE : v;
    }
    case "input":
      return ctx.input;
    case "ref": {
      let cur = simpleValue(ctx, t.head, f);
      if (cur === NOT_SIMPLE) return NOT_SIMPLE;
      for (const e of t.path) {
        let key: Value | undefined;
        if (e.t === "const") key = e.v;
        else if (e.t === "local") key = f[e.slot];
        if (key === undefined) return NOT_SIMPLE;
        if (cur === undefined) continue;
        cur = index(cur, key);
      }
      return cur;
    }
    default:
      return NOT_SIMPLE;
  }
}

/** Evaluates a term, calling `k` with each value it takes (none when undefined). */
export function evalTerm(ctx: EvalContext, t: CTerm, f: Frame, k: VK): boolean {
  switch (t.t) {
    case "const":
      return k(t.v);
    case "local": {
      const v = f[t.slot];
      return v === undefined ? false : k(v);
    }
    case "input":
      return ctx.input === undefined ? false : k(ctx.input);
    case "data":
      return evalDataRef(ctx, t.path, f, k);
    case "ref": {
      const h = t.head;
      if (h.t === "local" || h.t === "input") {
        const hv = h.t === "local" ? f[h.slot] : ctx.input;
        return hv === undefined ? false : walkValue(ctx, hv, t.path, 0, f, k);
      }
      return evalTerm(ctx, h, f, (hv) => walkValue(ctx, hv, t.path, 0, f, k));
    }
    case "array":
      return evalSeq(ctx, t.items, 0, new Array(t.items.length), f, (vals) =>
        k(Object.freeze(vals.slice())),
      );
    case "set":
      return evalSeq(ctx, t.items, 0, new Array(t.items.length), f, (vals) => k(SetValue.of(vals)));
    case "object": {
      const flat: CTerm[] = [];
      for (const [a, b] of t.entries) flat.push(a, b);
      return evalSeq(ctx, flat, 0, new Array(flat.length), f, (vals) => {
        const o = new ObjectValue();
        for (let i = 0; i < vals.length; i += 2) {
          const key = vals[i] as Value;
          const prev = o.get(key);
          if (prev !== undefined && !equal(prev, vals[i + 1] as Value)) {
            throw conflict("object keys must be unique", t.loc);
          }
          o.set(key, vals[i + 1] as Value);
        }
        return k(o);
      });
    }
    case "arrayCompr": {
      const out: Value[] = [];
      ctx.enter(t.loc);
      evalBody(ctx, t.body, 0, f, () =>
        evalTerm(ctx, t.head, f, (v) => {
          out.push(v);
          return false;
        }),
      );
      ctx.leave();
      return k(Object.freeze(out));
    }
    case "setCompr": {
      const out = new SetValue();
      ctx.enter(t.loc);
      evalBody(ctx, t.body, 0, f, () =>
        evalTerm(ctx, t.head, f, (v) => {
          out.add(v);
          return false;
        }),
      );
      ctx.leave();
      return k(out);
    }
    case "objectCompr": {
      const out = new ObjectValue();
      ctx.enter(t.loc);
      evalBody(ctx, t.body, 0, f, () =>
        evalTerm(ctx, t.key, f, (kv) =>
          evalTerm(ctx, t.value, f, (vv) => {
            const prev = out.get(kv);
            if (prev !== undefined && !equal(prev, vv)) {
              throw conflict("object keys must be unique", t.loc);
            }
            out.set(kv, vv);
            return false;
          }),
        ),
      );
      ctx.leave();
      return k(out);
    }
    case "call":
      return evalCall(ctx, t, f, k);
    case "binary": {
      const a = simpleValue(ctx, t.l, f);
      if (a !== NOT_SIMPLE) {
        if (a === undefined) return false;
        const b = simpleValue(ctx, t.r, f);
        if (b !== NOT_SIMPLE) {
          if (b === undefined) return false;
          const r = guardBuiltin(ctx, t, () => binaryOp(t.op, a, b));
          return r === undefined ? false : k(r);
        }
      }
      if (t.l.t === "local" && f[t.l.slot] === undefined) {
        // `x == xs[x]`: the right side binds x first.
        return evalTerm(ctx, t.r, f, (b) =>
          evalTerm(ctx, t.l, f, (a) => {
            const r = guardBuiltin(ctx, t, () => binaryOp(t.op, a, b));
            return r === undefined ? false : k(r);
          }),
        );
      }
      return evalTerm(ctx, t.l, f, (a) =>
        evalTerm(ctx, t.r, f, (b) => {
          const r = guardBuiltin(ctx, t, () => binaryOp(t.op, a, b));
          return r === undefined ? false : k(r);
        }),
      );
    }
    case "neg":
      return evalTerm(ctx, t.operand, f, (a) => {
        const r = guardBuiltin(ctx, t, () => negate(a));
        return r === undefined ? false : k(r);
      });
    case "in":
      return evalTerm(ctx, t.coll, f, (cv) =>
        evalTerm(ctx, t.value, f, (vv) => {
          if (t.key === undefined) {
            if (cv instanceof SetValue) return k(cv.has(vv));
            return k(iterate(cv, (_k, e) => equal(e, vv)));
          }
          return evalTerm(ctx, t.key, f, (kv) => {
            const e = index(cv, kv);
            return k(e !== undefined && equal(e, vv));
          });
        }),
      );
    case "assign":
      return unifyTerms(ctx, t.l, t.r, f, () => k(true));
    case "template": {
      let s = "";
      for (const p of t.parts) {
        if (typeof p === "string") {
          s += p;
          continue;
        }
        let got: Value | undefined;
        evalTerm(ctx, p, f, (v) => {
          got = v;
          return true;
        });
        const set = got as SetValue;
        if (set.size === 0) s += "<undefined>";
        else if (set.size === 1) {
          const only = set.sorted()[0] as Value;
          s += typeof only === "string" ? only : formatValue(only);
        } else s += formatValue(set);
      }
      return k(s);
    }
  }
}

/**
 * Runs a builtin-like operation: type and builtin errors abort in strict mode and make the
 * expression undefined otherwise (OPA's StrictBuiltinErrors).
 */
export function guardBuiltin(
  ctx: EvalContext,
  t: CTerm,
  fn: () => Value | undefined,
): Value | undefined {
  // In non-strict mode a builtin error only makes the call undefined: skip the costly stack
  // capture of the errors builtins throw (a Kata policy probes base64 and numbers this way).
  const limit = Error.stackTraceLimit;
  if (!ctx.strict) Error.stackTraceLimit = 0;
  try {
    return fn();
  } catch (e) {
    return builtinFailure(ctx, t, e);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** What a builtin's exception means: undefined (non-strict), or the error at the call (strict). */
export function builtinFailure(ctx: EvalContext, t: CTerm, e: unknown): undefined {
  if (e instanceof RegoError) {
    if (e.code !== "ERR_REGO_TYPE" && e.code !== "ERR_REGO_BUILTIN") throw e;
    if (ctx.strict) throw e.at(t.loc);
    return undefined;
  }
  // Stack exhaustion is never a builtin's failure: let the engine report ERR_REGO_LIMIT.
  if (isStackOverflow(e)) throw e;
  const err = new RegoError("ERR_REGO_BUILTIN", String((e as Error)?.message ?? e), {
    cause: e,
  });
  if (ctx.strict) throw err.at(t.loc);
  return undefined;
}

/** Evaluates terms left to right (each may iterate); `vals` is reused, so copy it. */
export function evalSeq(
  ctx: EvalContext,
  terms: CTerm[],
  i: number,
  vals: Value[],
  f: Frame,
  k: (vals: Value[]) => boolean,
): boolean {
  // Non-iterating operands are read directly (no continuation per argument).
  while (i < terms.length) {
    const sv = simpleValue(ctx, terms[i]!, f);
    if (sv === NOT_SIMPLE) break;
    if (sv === undefined) return false;
    vals[i++] = sv;
  }
  if (i === terms.length) return k(vals);
  return evalTerm(ctx, terms[i]!, f, (v) => {
    vals[i] = v;
    return evalSeq(ctx, terms, i + 1, vals, f, k);
  });
}

/** Follows a ref path into a value, iterating over unbound path variables. */
export function walkValue(
  ctx: EvalContext,
  v: Value,
  path: CTerm[],
  i: number,
  f: Frame,
  k: VK,
): boolean {
  let cur: Value = v;
  for (; i < path.length; i++) {
    const e = path[i]!;
    let key: Value | undefined;
    if (e.t === "const") key = e.v;
    else if (e.t === "local" && f[e.slot] !== undefined) key = f[e.slot];
    if (key !== undefined) {
      const next = index(cur, key);
      if (next === undefined) return false;
      cur = next;
      continue;
    }
    const from = cur;
    const at = i;
    if (isPattern(e, f)) {
      ctx.step(e.loc);
      return iterate(from, (kk, vv) =>
        unify(ctx, e, kk, f, () => walkValue(ctx, vv, path, at + 1, f, k)),
      );
    }
    return evalTerm(ctx, e, f, (kv) => {
      const next = index(from, kv);
      return next === undefined ? false : walkValue(ctx, next, path, at + 1, f, k);
    });
  }
  return k(cur);
}

/**
 * True for errors V8 raises when the JS stack runs out. Near the limit even compiling a regex
 * literal fails (with a SyntaxError carrying the same text), so only a plain substring test.
 */
export function isStackOverflow(e: unknown): boolean {
  return (
    e instanceof Error &&
    typeof e.message === "string" &&
    e.message.includes("Maximum call stack size exceeded")
  );
}
