import { RegoError } from "../errors.js";
import { equal, ObjectValue, SetValue, type Value } from "../value/value.js";
import { evalBody } from "./body.js";
import { conflict, type EvalContext, IN_PROGRESS, UNDEF } from "./context.js";
import type { CRule, CTerm, RuleSet } from "./ir.js";
import { memoGet, memoSet } from "./memo.js";
import { evalTerm, type Frame } from "./terms.js";
import { unify } from "./unify.js";

/** Evaluates a (non-function) rule set once per query; the result is cached. */
export function evalRuleSet(ctx: EvalContext, rs: RuleSet): Value | undefined {
  const cached = ctx.cache.get(rs);
  if (cached !== undefined) {
    if (cached === IN_PROGRESS) {
      throw new RegoError("ERR_REGO_COMPILE", `rule data.${rs.path.join(".")} is recursive`, {
        opaCode: "rego_recursion_error",
        location: rs.defs[0]?.loc ?? rs.defaults[0]?.loc,
      });
    }
    return cached === UNDEF ? undefined : cached;
  }
  ctx.cache.set(rs, IN_PROGRESS);
  let v: Value | undefined;
  const loc = rs.defs[0]?.loc ?? rs.defaults[0]?.loc;
  if (loc) ctx.enter(loc);
  try {
    v = computeRuleSet(ctx, rs);
  } catch (e) {
    ctx.cache.delete(rs);
    throw e;
  }
  ctx.leave();
  ctx.cache.set(rs, v === undefined ? UNDEF : v);
  return v;
}

function computeRuleSet(ctx: EvalContext, rs: RuleSet): Value | undefined {
  switch (rs.kind) {
    case "complete": {
      let result: Value | undefined;
      for (const def of rs.defs) {
        const v = defValue(
          ctx,
          def,
          new Array(def.nslots),
          "complete rules must not produce multiple outputs",
          true,
        );
        if (v === undefined) continue;
        if (result !== undefined && !equal(result, v)) {
          throw conflict("complete rules must not produce multiple outputs", def.loc);
        }
        result = v;
      }
      return result !== undefined ? result : defaultValue(ctx, rs);
    }
    case "partialSet": {
      const out = new SetValue();
      for (const def of rs.defs) {
        const f: Frame = new Array(def.nslots);
        evalBody(ctx, def.body, 0, f, () =>
          evalTerm(ctx, def.keys[0]!, f, (v) => {
            out.add(v);
            return false;
          }),
        );
      }
      return out;
    }
    case "partialObject": {
      let out: ObjectValue | undefined;
      for (const def of rs.defs) {
        const f: Frame = new Array(def.nslots);
        const emit = (): boolean =>
          evalKeys(ctx, def.keys, 0, [], f, (keys) =>
            evalTerm(ctx, def.value ?? TRUE, f, (v) => {
              out ??= new ObjectValue();
              insertPath(out, keys, v, def);
              return false;
            }),
          );
        evalBody(ctx, def.body, 0, f, emit);
      }
      if (out === undefined) {
        const d = defaultValue(ctx, rs);
        if (d !== undefined) return d;
        // A rule whose head is all vars below the name is an object even when empty.
        return new ObjectValue();
      }
      return out;
    }
    case "function":
      return undefined;
  }
}

const TRUE: CTerm = { t: "const", v: true, loc: { file: "", line: 0, col: 0 } };

function evalKeys(
  ctx: EvalContext,
  keys: CTerm[],
  i: number,
  acc: Value[],
  f: Frame,
  k: (keys: Value[]) => boolean,
): boolean {
  if (i === keys.length) return k(acc);
  return evalTerm(ctx, keys[i]!, f, (v) => {
    acc[i] = v;
    return evalKeys(ctx, keys, i + 1, acc, f, k);
  });
}

function insertPath(out: ObjectValue, keys: Value[], v: Value, def: CRule): void {
  let o = out;
  const n = def.setLeaf ? keys.length - 2 : keys.length - 1;
  for (let i = 0; i < n; i++) {
    const key = keys[i] as Value;
    let sub = o.get(key);
    if (sub === undefined) {
      sub = new ObjectValue();
      o.set(key, sub);
    } else if (!(sub instanceof ObjectValue)) {
      throw conflict("object keys must be unique", def.loc);
    }
    o = sub;
  }
  if (def.setLeaf) {
    const at = keys[keys.length - 2] as Value;
    let s = o.get(at);
    if (s === undefined) {
      s = new SetValue();
      o.set(at, s);
    } else if (!(s instanceof SetValue)) {
      throw conflict("object keys must be unique", def.loc);
    }
    s.add(keys[keys.length - 1] as Value);
    return;
  }
  const last = keys[keys.length - 1] as Value;
  const prev = o.get(last);
  if (prev !== undefined && !equal(prev, v)) {
    throw conflict("object keys must be unique", def.loc);
  }
  o.set(last, v);
}

/**
 * The value one definition produces (its body, then its else chain), checking that every
 * solution agrees. `f` may already hold bound function arguments.
 */
function defValue(
  ctx: EvalContext,
  def: CRule,
  f: Frame,
  conflictMsg: string,
  earlyExit = false,
): Value | undefined {
  let out: Value | undefined;
  // Early exit for complete rules (as OPA and regorus do): a constant value cannot conflict with
  // itself, so the first solution of the body decides; functions enumerate every solution.
  const take = (v: Value): boolean => {
    if (out === undefined) out = v;
    else if (!equal(out, v)) throw conflict(conflictMsg, def.loc);
    return false;
  };
  let vt = def.value;
  const onSolution = (): boolean => {
    if (vt === undefined) {
      take(true);
      return earlyExit;
    }
    if (vt.t === "const") {
      take(vt.v);
      return earlyExit;
    }
    return evalTerm(ctx, vt, f, take);
  };
  evalBody(ctx, def.body, 0, f, onSolution);
  if (out !== undefined) return out;
  for (const e of def.elses) {
    vt = e.value;
    evalBody(ctx, e.body, 0, f, onSolution);
    if (out !== undefined) return out;
  }
  return undefined;
}

function defaultValue(ctx: EvalContext, rs: RuleSet): Value | undefined {
  const d = rs.defaults[0];
  if (!d) return undefined;
  let out: Value | undefined;
  evalTerm(ctx, d.value ?? TRUE, new Array(d.nslots), (v) => {
    out = v;
    return true;
  });
  return out;
}

/** Calls a user-defined function with evaluated arguments (memoised per query, see memo.ts). */
export function callFunction(
  ctx: EvalContext,
  rs: RuleSet,
  args: readonly Value[],
): Value | undefined {
  const hit = memoGet(ctx, rs, args);
  if (hit !== undefined) return hit === UNDEF ? undefined : hit;
  const v = runFunction(ctx, rs, args);
  memoSet(ctx, rs, args, v);
  return v;
}

function runFunction(ctx: EvalContext, rs: RuleSet, args: readonly Value[]): Value | undefined {
  const msg = "functions must not produce multiple outputs for same inputs";
  let result: Value | undefined;
  const loc = rs.defs[0]?.loc ?? rs.defaults[0]?.loc;
  if (loc) ctx.enter(loc);
  for (const def of rs.defs) {
    const f: Frame = new Array(def.nslots);
    let v: Value | undefined;
    const bound = bindArgs(def.args ?? [], args, f);
    if (bound === false) continue;
    if (bound) v = defValue(ctx, def, f, msg);
    else {
      unifyArgs(ctx, def.args ?? [], args, 0, f, () => {
        const r = defValue(ctx, def, f, msg);
        if (r !== undefined) {
          if (v !== undefined && !equal(v, r)) throw conflict(msg, def.loc);
          v = r;
        }
        return false;
      });
    }
    if (v === undefined) continue;
    if (result !== undefined && !equal(result, v)) throw conflict(msg, def.loc);
    result = v;
  }
  if (loc) ctx.leave();
  if (result === undefined && rs.defaults.length > 0) {
    const d = rs.defaults[0]!;
    const f: Frame = new Array(d.nslots);
    unifyArgs(ctx, d.args ?? [], args, 0, f, () =>
      evalTerm(ctx, d.value ?? TRUE, f, (v) => {
        result = v;
        return true;
      }),
    );
  }
  return result;
}

/**
 * Binds arguments to parameters that are all variables or constants (the usual case) straight
 * into the fresh frame: true when bound, false when a parameter does not match, undefined
 * when a parameter is a pattern that needs general unification (nothing bound then).
 */
function bindArgs(pats: CTerm[], args: readonly Value[], f: Frame): boolean | undefined {
  for (const p of pats) if (p.t !== "local" && p.t !== "const") return undefined;
  for (let i = 0; i < pats.length; i++) {
    const p = pats[i]!;
    const a = args[i] as Value;
    if (p.t === "const") {
      if (!equal(p.v, a)) return false;
    } else if (p.t === "local") {
      const cur = f[p.slot];
      if (cur === undefined) f[p.slot] = a;
      else if (!equal(cur, a)) return false;
    }
  }
  return true;
}

function unifyArgs(
  ctx: EvalContext,
  pats: CTerm[],
  args: readonly Value[],
  i: number,
  f: Frame,
  k: () => boolean,
): boolean {
  if (i === pats.length) return k();
  return unify(ctx, pats[i]!, args[i] as Value, f, () => unifyArgs(ctx, pats, args, i + 1, f, k));
}
