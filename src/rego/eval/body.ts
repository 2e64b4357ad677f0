import { ObjectValue, type Value } from "../value/value.js";
import { iterate, setPath } from "./collections.js";
import { findNode } from "./compile.js";
import type { EvalContext, K, Mock } from "./context.js";
import { eachIn, FAIL, loopReady, planOf, runPlan, SLOW } from "./fast.js";
import type { CLit, CWith, RuleNode } from "./ir.js";
import { evalTerm, type Frame } from "./terms.js";
import { unify, unifyTerms } from "./unify.js";

/** A continuation that stops at the first solution (evalBody then returns true). */
const STOP: K = () => true;

/** Evaluates statements `lits[i..]`, calling `k` once per solution. */
export function evalBody(ctx: EvalContext, lits: CLit[], i: number, f: Frame, k: K): boolean {
  // Statements that cannot iterate run in this loop (see fast.ts); variables they bind are
  // unbound again when this call returns, as unify does on backtracking.
  let bound: number[] | undefined;
  let r: boolean;
  for (;;) {
    if (i === lits.length) {
      r = k();
      break;
    }
    const lit = lits[i]!;
    ctx.step(lit.loc);
    const plan = planOf(lit);
    if (plan !== null && plan.kind <= 2) {
      const res = runPlan(ctx, plan, f);
      if (res === FAIL) {
        r = false;
        break;
      }
      if (res !== SLOW) {
        if (res < 0) {
          bound ??= [];
          bound.push(-res - 3);
        }
        i++;
        continue;
      }
    }
    const at = i;
    const next = at + 1 === lits.length ? k : () => evalBody(ctx, lits, at + 1, f, k);
    r = lit.withs.length > 0 ? evalWith(ctx, lit, f, next) : evalLit(ctx, lit, f, next);
    break;
  }
  if (bound !== undefined) for (const s of bound) f[s] = undefined;
  return r;
}

function evalLit(ctx: EvalContext, lit: CLit, f: Frame, k: K): boolean {
  switch (lit.k) {
    case "expr": {
      if (lit.neg) {
        let found = false;
        evalExpr(ctx, lit, f, () => {
          found = true;
          return true;
        });
        return found ? false : k();
      }
      return evalExpr(ctx, lit, f, k);
    }
    case "someIn": {
      const p = planOf(lit);
      if (p !== null && loopReady(p, f)) return eachIn(ctx, p, lit.loc, f, k) === true;
      return evalTerm(ctx, lit.coll, f, (cv) =>
        iterate(cv, (key, val) => {
          ctx.step(lit.loc);
          if (lit.key) {
            return unify(ctx, lit.key, key, f, () => unify(ctx, lit.value, val, f, k));
          }
          return unify(ctx, lit.value, val, f, k);
        }),
      );
    }
    case "every": {
      const p = planOf(lit);
      if (p !== null && loopReady(p, f)) {
        const body = lit.body;
        // Every element needs one solution of the body; an undefined domain fails.
        const failed = eachIn(ctx, p, lit.loc, f, () => !evalBody(ctx, body, 0, f, STOP));
        return failed === false ? k() : false;
      }
      let ok = true;
      let defined = false;
      evalTerm(ctx, lit.domain, f, (dv) => {
        defined = typeof dv === "object" && dv !== null;
        iterate(dv, (key, val) => {
          ctx.step(lit.loc);
          let found = false;
          const body = () =>
            evalBody(ctx, lit.body, 0, f, () => {
              found = true;
              return true;
            });
          if (lit.key) unify(ctx, lit.key, key, f, () => unify(ctx, lit.value, val, f, body));
          else unify(ctx, lit.value, val, f, body);
          if (!found) ok = false;
          return !ok;
        });
        return !ok;
      });
      // An undefined or non-collection domain makes `every` fail.
      return ok && defined ? k() : false;
    }
  }
}

function evalExpr(ctx: EvalContext, lit: CLit & { k: "expr" }, f: Frame, k: K): boolean {
  const e = lit.e;
  if (e.t === "assign") return unifyTerms(ctx, e.l, e.r, f, k);
  return evalTerm(ctx, e, f, (v) => (v === false ? false : k()));
}

interface Saved {
  input: Value | undefined;
  data: ObjectValue;
  mocks: Map<string, Mock>;
  masked: Set<RuleNode>;
  cache: EvalContext["cache"];
  fmemo: EvalContext["fmemo"];
  dcache: EvalContext["dcache"];
}

function save(ctx: EvalContext): Saved {
  return {
    input: ctx.input,
    data: ctx.data,
    mocks: ctx.mocks,
    masked: ctx.masked,
    cache: ctx.cache,
    fmemo: ctx.fmemo,
    dcache: ctx.dcache,
  };
}

function restore(ctx: EvalContext, s: Saved): void {
  ctx.input = s.input;
  ctx.data = s.data;
  ctx.mocks = s.mocks;
  ctx.masked = s.masked;
  ctx.cache = s.cache;
  ctx.fmemo = s.fmemo;
  ctx.dcache = s.dcache;
}

/**
 * `lit with ...`: runs `run` (by default the statement itself) under replaced input, data and
 * functions; the continuation sees the outer state again.
 */
export function evalWith(
  ctx: EvalContext,
  lit: CLit,
  f: Frame,
  k: K,
  run: (ctx: EvalContext, lit: CLit, f: Frame, k: K) => boolean = evalLit,
): boolean {
  const values: (Value | undefined)[] = [];
  for (const w of lit.withs) {
    if (w.kind === "fn" && w.replacement) {
      values.push(undefined);
      continue;
    }
    let got: Value | undefined;
    evalTerm(ctx, w.value, f, (v) => {
      got = v;
      return true;
    });
    if (got === undefined) return false;
    values.push(got);
  }
  const outer = save(ctx);
  for (const [i, w] of lit.withs.entries()) apply(ctx, w, values[i]);
  ctx.cache = new Map();
  ctx.fmemo = new Map();
  ctx.dcache = new Map();
  const inner = save(ctx);
  try {
    return run(ctx, lit, f, () => {
      restore(ctx, outer);
      try {
        return k();
      } finally {
        restore(ctx, inner);
      }
    });
  } finally {
    restore(ctx, outer);
  }
}

function apply(ctx: EvalContext, w: CWith, v: Value | undefined): void {
  switch (w.kind) {
    case "input":
      ctx.input = setPath(ctx.input, w.path, v as Value);
      return;
    case "data": {
      ctx.data = setPath(ctx.data, w.path, v as Value) as ObjectValue;
      if (!(ctx.data instanceof ObjectValue)) ctx.data = new ObjectValue();
      const node = findNode(ctx.root, w.path);
      ctx.masked = new Set(ctx.masked);
      if (node) ctx.masked.add(node);
      // Rules above the path keep working on the patched base data only if they are absent.
      for (let n = 1; n < w.path.length; n++) {
        const anc = findNode(ctx.root, w.path.slice(0, n));
        if (anc?.rules) ctx.masked.add(anc);
      }
      return;
    }
    case "fn": {
      ctx.mocks = new Map(ctx.mocks);
      ctx.mocks.set(w.fnName, w.replacement ? { target: w.replacement } : { value: v as Value });
      return;
    }
  }
}
