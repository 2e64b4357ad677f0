import { equal, ObjectValue, type Value } from "../value/value.js";
import type { EvalContext, K } from "./context.js";
import type { CTerm } from "./ir.js";
import { evalTerm } from "./terms.js";

/** True when `t` can bind variables: an unbound var, or a collection literal holding one. */
export function isPattern(t: CTerm, f: (Value | undefined)[]): boolean {
  switch (t.t) {
    case "local":
      return f[t.slot] === undefined;
    case "array":
      return t.items.some((i) => isPattern(i, f));
    case "object":
      return t.entries.some(([, v]) => isPattern(v, f));
    default:
      return false;
  }
}

/** Unifies a (possibly pattern) term with a value, calling `k` for each way it succeeds. */
export function unify(
  ctx: EvalContext,
  pat: CTerm,
  value: Value,
  f: (Value | undefined)[],
  k: K,
): boolean {
  switch (pat.t) {
    case "local": {
      const cur = f[pat.slot];
      if (cur === undefined) {
        f[pat.slot] = value;
        const r = k();
        f[pat.slot] = undefined;
        return r;
      }
      return equal(cur, value) ? k() : false;
    }
    case "const":
      return equal(pat.v, value) ? k() : false;
    case "array":
      if (!Array.isArray(value) || value.length !== pat.items.length) return false;
      return unifyItems(ctx, pat.items, value, 0, f, k);
    case "object": {
      if (!(value instanceof ObjectValue) || value.size !== pat.entries.length) return false;
      return unifyEntries(ctx, pat.entries, value, 0, f, k);
    }
    default:
      return evalTerm(ctx, pat, f, (v) => (equal(v, value) ? k() : false));
  }
}

function unifyItems(
  ctx: EvalContext,
  items: CTerm[],
  vals: readonly Value[],
  i: number,
  f: (Value | undefined)[],
  k: K,
): boolean {
  if (i === items.length) return k();
  return unify(ctx, items[i]!, vals[i] as Value, f, () =>
    unifyItems(ctx, items, vals, i + 1, f, k),
  );
}

function unifyEntries(
  ctx: EvalContext,
  entries: [CTerm, CTerm][],
  obj: ObjectValue,
  i: number,
  f: (Value | undefined)[],
  k: K,
): boolean {
  if (i === entries.length) return k();
  const [kt, vt] = entries[i]!;
  return evalTerm(ctx, kt, f, (key) => {
    const v = obj.get(key);
    if (v === undefined) return false;
    return unify(ctx, vt, v, f, () => unifyEntries(ctx, entries, obj, i + 1, f, k));
  });
}

/** `a = b`: binds whichever side is a pattern from the other side's values. */
export function unifyTerms(
  ctx: EvalContext,
  a: CTerm,
  b: CTerm,
  f: (Value | undefined)[],
  k: K,
): boolean {
  const pa = isPattern(a, f);
  const pb = isPattern(b, f);
  if (pa && pb) {
    if (a.t === "array" && b.t === "array") {
      if (a.items.length !== b.items.length) return false;
      return unifyPairs(ctx, a.items, b.items, 0, f, k);
    }
    if (a.t === "object" && b.t === "object") {
      if (a.entries.length !== b.entries.length) return false;
      // Keys must be ground: pair entries by key value.
      return unifyObjects(ctx, a.entries, b.entries, f, k);
    }
    if (a.t === "array" && b.t === "const") return unify(ctx, a, b.v, f, k);
    // Both sides unbound: nothing to bind from.
    return false;
  }
  if (pa) return evalTerm(ctx, b, f, (v) => unify(ctx, a, v, f, k));
  return evalTerm(ctx, a, f, (v) => unify(ctx, b, v, f, k));
}

function unifyPairs(
  ctx: EvalContext,
  as: CTerm[],
  bs: CTerm[],
  i: number,
  f: (Value | undefined)[],
  k: K,
): boolean {
  if (i === as.length) return k();
  return unifyTerms(ctx, as[i]!, bs[i]!, f, () => unifyPairs(ctx, as, bs, i + 1, f, k));
}

function unifyObjects(
  ctx: EvalContext,
  ae: [CTerm, CTerm][],
  be: [CTerm, CTerm][],
  f: (Value | undefined)[],
  k: K,
): boolean {
  const pairs: [CTerm, CTerm][] = [];
  for (const [ka, va] of ae) {
    if (ka.t !== "const") return false;
    const match = be.find(([kb]) => kb.t === "const" && equal(kb.v, ka.v));
    if (!match) return false;
    pairs.push([va, match[1]]);
  }
  return unifyPairs(
    ctx,
    pairs.map((p) => p[0]),
    pairs.map((p) => p[1]),
    0,
    f,
    k,
  );
}
