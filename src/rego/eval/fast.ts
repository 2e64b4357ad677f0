import type { Location } from "../errors.js";
import { formatValue } from "../value/format.js";
import { equal, ObjectValue, SetValue, type Value } from "../value/value.js";
import { callTarget } from "./calls.js";
import { index } from "./collections.js";
import { conflict, type EvalContext, UNDEF } from "./context.js";
import type { CLit, CTerm } from "./ir.js";
import { binaryOp, negate } from "./ops.js";
import { evalDataRef } from "./refs.js";
import { evalTerm, type Frame, guardBuiltin } from "./terms.js";

/**
 * Straight-line fast path for body statements. A term is *single-valued* when, once every
 * variable it reads directly is bound, it takes at most one value (no iteration): constants,
 * bound variables, refs with ground keys, calls (except `walk` and output arguments),
 * operators, collection literals of such terms, comprehensions and templates. Such a
 * statement is evaluated here in a plain loop with direct returns, without the continuation
 * closures of the general evaluator; the result is the same value the general path computes,
 * in the same order, so behaviour (values, errors, prints) is unchanged.
 */

/** How {@link evalBody} may run one statement without continuations; `null` when it may not. */
export interface LitPlan {
  /**
   * 0: test `e` (truthy and defined); 1: `not e`; 2: unify `l = r` / `l := r`;
   * 3: `some k, v in l`; 4: `every k, v in l { ... }` (k and v plain variables).
   */
  kind: 0 | 1 | 2 | 3 | 4;
  /** The tested term (0, 1), the left side (2), or the collection (3, 4). */
  l: CTerm;
  /** The right side (kind 2). */
  r: CTerm | undefined;
  /** Slots read directly by `l` (kind 2: by l when it is not a lone variable). */
  ls: number[];
  /** Slots read directly by `r`. */
  rs: number[];
  /** Kinds 3 and 4: the value variable's slot and the key variable's slot (-1: none). */
  vslot: number;
  kslot: number;
}

/** Result of {@link runPlan}: the statement failed, passed, or needs the general path. */
export const FAIL = 0;
export const PASS = 1;
export const SLOW = 2;

/** A compiled statement carrying its plan (set on first evaluation). */
type Planned = CLit & { plan?: LitPlan | null };

/** The plan for a statement (computed once per compiled statement). */
export function planOf(lit: CLit): LitPlan | null {
  const p = (lit as Planned).plan;
  if (p !== undefined) return p;
  const made = makePlan(lit);
  (lit as Planned).plan = made;
  return made;
}

function makePlan(lit: CLit): LitPlan | null {
  if (lit.withs.length > 0) return null;
  if (lit.k !== "expr") {
    const coll = lit.k === "someIn" ? lit.coll : lit.domain;
    const v = lit.value;
    const key = lit.key;
    if (v.t !== "local") return null;
    if (key !== undefined && (key.t !== "local" || key.slot === v.slot)) return null;
    const ls: number[] = [];
    if (!singleValued(coll, ls)) return null;
    const kslot = key === undefined ? -1 : key.slot;
    if (ls.includes(v.slot) || ls.includes(kslot)) return null;
    return {
      kind: lit.k === "someIn" ? 3 : 4,
      l: coll,
      r: undefined,
      ls,
      rs: [],
      vslot: v.slot,
      kslot,
    };
  }
  const e = lit.e;
  if (e.t === "assign") {
    if (lit.neg) return null;
    const ls: number[] = [];
    const rs: number[] = [];
    if (!singleValued(e.l, ls) || !singleValued(e.r, rs)) return null;
    return { kind: 2, l: e.l, r: e.r, ls, rs, vslot: -1, kslot: -1 };
  }
  const ls: number[] = [];
  if (!singleValued(e, ls)) return null;
  return { kind: lit.neg ? 1 : 0, l: e, r: undefined, ls, rs: [], vslot: -1, kslot: -1 };
}

/** True when `t` takes at most one value once the slots it adds to `slots` are bound. */
function singleValued(t: CTerm, slots: number[]): boolean {
  switch (t.t) {
    case "const":
    case "input":
      return true;
    case "local":
      if (!slots.includes(t.slot)) slots.push(t.slot);
      return true;
    case "data":
      return t.path.every((p) => singleValued(p, slots));
    case "ref":
      return singleValued(t.head, slots) && t.path.every((p) => singleValued(p, slots));
    case "array":
    case "set":
      return t.items.every((i) => singleValued(i, slots));
    case "object":
      return t.entries.every(([k, v]) => singleValued(k, slots) && singleValued(v, slots));
    case "arrayCompr":
    case "setCompr":
    case "objectCompr":
    case "template":
      // One collection / one string whatever the body does; evaluated by the general path.
      return true;
    case "call":
      if (t.outArg || t.target.kind === "walk") return false;
      return t.args.every((a) => singleValued(a, slots));
    case "binary":
      return singleValued(t.l, slots) && singleValued(t.r, slots);
    case "neg":
      return singleValued(t.operand, slots);
    case "in":
      return (
        (t.key === undefined || singleValued(t.key, slots)) &&
        singleValued(t.value, slots) &&
        singleValued(t.coll, slots)
      );
    case "assign":
      return false;
  }
}

function allBound(f: Frame, slots: number[]): boolean {
  for (let i = 0; i < slots.length; i++) if (f[slots[i]!] === undefined) return false;
  return true;
}

/** True when a kind 3/4 plan applies now: collection ground, key and value variables unbound. */
export function loopReady(p: LitPlan, f: Frame): boolean {
  return allBound(f, p.ls) && f[p.vslot] === undefined && (p.kslot < 0 || f[p.kslot] === undefined);
}

/**
 * `some k, v in coll` / the element loop of `every` (see {@link loopReady}): binds the
 * variables to each element in OPA's order and calls `each`; stops when it returns true.
 * Returns that, or the collection's absence as `undefined`.
 */
export function eachIn(
  ctx: EvalContext,
  p: LitPlan,
  loc: Location,
  f: Frame,
  each: () => boolean,
): boolean | undefined {
  const cv = fastEval(ctx, p.l, f);
  if (cv === undefined) return undefined;
  const vs = p.vslot;
  const ks = p.kslot;
  let r = false;
  if (Array.isArray(cv)) {
    for (let i = 0; i < cv.length; i++) {
      ctx.step(loc);
      if (ks >= 0) f[ks] = i;
      f[vs] = cv[i];
      if (each()) {
        r = true;
        break;
      }
    }
  } else if (cv instanceof ObjectValue) {
    for (const [kk, vv] of cv.sorted()) {
      ctx.step(loc);
      if (ks >= 0) f[ks] = kk;
      f[vs] = vv;
      if (each()) {
        r = true;
        break;
      }
    }
  } else if (cv instanceof SetValue) {
    for (const e of cv.sorted()) {
      ctx.step(loc);
      if (ks >= 0) f[ks] = e;
      f[vs] = e;
      if (each()) {
        r = true;
        break;
      }
    }
  } else if (typeof cv !== "object" || cv === null) {
    return undefined;
  }
  f[vs] = undefined;
  if (ks >= 0) f[ks] = undefined;
  return r;
}

/**
 * Runs a planned statement. Returns FAIL, PASS, SLOW (variables not bound as the plan needs:
 * nothing was evaluated), or `-(slot + 3)` when it passed by binding that slot (the caller
 * unbinds it when backtracking).
 */
export function runPlan(ctx: EvalContext, p: LitPlan, f: Frame): number {
  if (p.kind !== 2) {
    if (!allBound(f, p.ls)) return SLOW;
    const v = fastEval(ctx, p.l, f);
    const truthy = v !== undefined && v !== false;
    return truthy === (p.kind === 0) ? PASS : FAIL;
  }
  const l = p.l;
  const r = p.r!;
  const lb = allBound(f, p.ls);
  const rb = allBound(f, p.rs);
  if (lb && rb) {
    const a = fastEval(ctx, l, f);
    if (a === undefined) return FAIL;
    const b = fastEval(ctx, r, f);
    return b !== undefined && equal(a, b) ? PASS : FAIL;
  }
  if (rb && l.t === "local") {
    const v = fastEval(ctx, r, f);
    if (v === undefined) return FAIL;
    f[l.slot] = v;
    return -(l.slot + 3);
  }
  if (lb && r.t === "local") {
    const v = fastEval(ctx, l, f);
    if (v === undefined) return FAIL;
    f[r.slot] = v;
    return -(r.slot + 3);
  }
  return SLOW;
}

/** The single value of a single-valued term whose direct slots are bound (or undefined). */
export function fastEval(ctx: EvalContext, t: CTerm, f: Frame): Value | undefined {
  switch (t.t) {
    case "const":
      return t.v;
    case "local":
      return f[t.slot];
    case "input":
      return ctx.input;
    case "ref": {
      let cur = fastEval(ctx, t.head, f);
      const path = t.path;
      for (let i = 0; i < path.length && cur !== undefined; i++) {
        const e = path[i]!;
        const key = e.t === "const" ? e.v : fastEval(ctx, e, f);
        if (key === undefined) return undefined;
        cur = index(cur, key);
      }
      return cur;
    }
    case "call":
      return fastCall(ctx, t, f);
    case "binary": {
      const a = fastEval(ctx, t.l, f);
      if (a === undefined) return undefined;
      const b = fastEval(ctx, t.r, f);
      if (b === undefined) return undefined;
      switch (t.op) {
        // Comparisons never throw: no error guard needed.
        case "==":
          return equal(a, b);
        case "!=":
          return !equal(a, b);
        case "<":
        case "<=":
        case ">":
        case ">=":
          return binaryOp(t.op, a, b);
        default:
          return guardBuiltin(ctx, t, () => binaryOp(t.op, a, b));
      }
    }
    case "neg": {
      const a = fastEval(ctx, t.operand, f);
      if (a === undefined) return undefined;
      return guardBuiltin(ctx, t, () => negate(a));
    }
    case "in": {
      const cv = fastEval(ctx, t.coll, f);
      if (cv === undefined) return undefined;
      const vv = fastEval(ctx, t.value, f);
      if (vv === undefined) return undefined;
      if (t.key === undefined) {
        if (cv instanceof SetValue) return cv.has(vv);
        if (Array.isArray(cv)) {
          for (let i = 0; i < cv.length; i++) if (equal(cv[i] as Value, vv)) return true;
          return false;
        }
        if (cv instanceof ObjectValue) {
          for (const [, e] of cv.entries.values()) if (equal(e, vv)) return true;
          return false;
        }
        return false;
      }
      const kv = fastEval(ctx, t.key, f);
      if (kv === undefined) return undefined;
      const e = index(cv, kv);
      return e !== undefined && equal(e, vv);
    }
    case "array": {
      const out: Value[] = new Array(t.items.length);
      for (let i = 0; i < t.items.length; i++) {
        const v = fastEval(ctx, t.items[i]!, f);
        if (v === undefined) return undefined;
        out[i] = v;
      }
      return Object.freeze(out);
    }
    case "object": {
      const vals: Value[] = [];
      for (const [a, b] of t.entries) {
        const kv = fastEval(ctx, a, f);
        if (kv === undefined) return undefined;
        const vv = fastEval(ctx, b, f);
        if (vv === undefined) return undefined;
        vals.push(kv, vv);
      }
      const o = new ObjectValue();
      for (let i = 0; i < vals.length; i += 2) {
        const key = vals[i] as Value;
        const prev = o.get(key);
        if (prev !== undefined && !equal(prev, vals[i + 1] as Value)) {
          throw conflict("object keys must be unique", t.loc);
        }
        o.set(key, vals[i + 1] as Value);
      }
      return o;
    }
    case "data":
      return constData(ctx, t) ?? captureOne(ctx, t, f);
    default:
      return captureOne(ctx, t, f);
  }
}

/** A term reading `data` with its ref plan: whether every path element is a constant. */
type DataTerm = CTerm & { t: "data"; ground?: boolean };

/**
 * `data.a.b.c` with constant keys (policies read e.g. `policy_data.common.cpath` dozens of
 * times per decision): its value is fixed within a query and `with` scope, so it is looked up
 * once and kept in the scope's cache. `undefined` when the path is not constant or absent.
 */
function constData(ctx: EvalContext, t: DataTerm): Value | undefined {
  let ground = t.ground;
  if (ground === undefined) {
    ground = t.path.every((p) => p.t === "const");
    t.ground = ground;
  }
  if (!ground) return undefined;
  const hit = ctx.dcache.get(t);
  if (hit !== undefined) return hit === UNDEF ? undefined : hit;
  const v = captureOne(ctx, t, []);
  ctx.dcache.set(t, v === undefined ? UNDEF : v);
  return v;
}

/** The first (only) value the general evaluator gives `t`. */
function captureOne(ctx: EvalContext, t: CTerm, f: Frame): Value | undefined {
  let out: Value | undefined;
  const k = (v: Value) => {
    out = v;
    return true;
  };
  if (t.t === "data") evalDataRef(ctx, t.path, f, k);
  else evalTerm(ctx, t, f, k);
  return out;
}

function fastCall(ctx: EvalContext, t: CTerm & { t: "call" }, f: Frame): Value | undefined {
  ctx.step(t.loc);
  const target = t.target;
  if (target.kind === "print") {
    if (ctx.prints) ctx.prints.push(printLine(ctx, t, f));
    return true;
  }
  const n = t.args.length;
  const args: Value[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = fastEval(ctx, t.args[i]!, f);
    if (v === undefined) return undefined;
    args[i] = v;
  }
  return callTarget(ctx, target, args, t);
}

/** print's line: undefined arguments print as `<undefined>` (as the general path does). */
function printLine(ctx: EvalContext, t: CTerm & { t: "call" }, f: Frame): string {
  const parts: string[] = [];
  for (const a of t.args) {
    const v = fastEval(ctx, a, f);
    if (v === undefined) parts.push("<undefined>");
    else parts.push(typeof v === "string" ? v : formatValue(v));
  }
  return `${t.loc.file}:${t.loc.line}: ${parts.join(" ")}`;
}
