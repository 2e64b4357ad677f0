import { RegoError } from "../errors.js";
import type { CLit, CTerm } from "./ir.js";

/**
 * Orders a compiled body so each statement runs only once the variables it reads are bound
 * (OPA's "reorder for safety"). `bound` holds slots bound before the body starts; wildcards are
 * always safe. Throws ERR_REGO_COMPILE (`rego_unsafe_var_error`) when no order works.
 */
export function scheduleBody(
  body: CLit[],
  bound: Set<number>,
  wildcards: ReadonlySet<number>,
): CLit[] {
  const infos = body.map((lit) => {
    const all = new Set<number>();
    litVars(lit, all);
    const outs = new Set<number>();
    litOutputs(lit, outs);
    const needs: number[] = [];
    for (const s of all) if (!outs.has(s) && !wildcards.has(s)) needs.push(s);
    return { lit, all, needs };
  });
  const out: CLit[] = [];
  const remaining = [...infos];
  while (remaining.length > 0) {
    let idx = remaining.findIndex((i) => i.needs.every((s) => bound.has(s)));
    if (idx < 0) {
      const first = remaining[0]!;
      const missing = first.needs.find((s) => !bound.has(s))!;
      const name = slotName(first.lit, missing) ?? `#${missing}`;
      throw new RegoError("ERR_REGO_COMPILE", `var ${name} is unsafe`, {
        location: first.lit.loc,
        opaCode: "rego_unsafe_var_error",
      });
    }
    if (idx < 0) idx = 0;
    const [info] = remaining.splice(idx, 1);
    out.push(info!.lit);
    for (const s of info!.all) bound.add(s);
  }
  return out;
}

/** Slot → name lookup for error messages. */
function slotName(lit: CLit, slot: number): string | undefined {
  let found: string | undefined;
  const visit = (t: CTerm | undefined): void => {
    if (!t || found) return;
    if (t.t === "local" && t.slot === slot) found = t.name;
    forEachChild(t, visit, true);
  };
  litTerms(lit).forEach(visit);
  return found;
}

function litTerms(lit: CLit): CTerm[] {
  const ts: CTerm[] = [];
  if (lit.k === "expr") ts.push(lit.e);
  else if (lit.k === "someIn") {
    if (lit.key) ts.push(lit.key);
    ts.push(lit.value, lit.coll);
  } else {
    ts.push(lit.domain);
  }
  for (const w of lit.withs) ts.push(w.value);
  return ts;
}

/** Every slot a statement reads or binds, including free slots of nested bodies. */
export function litVars(lit: CLit, out: Set<number>): void {
  for (const t of litTerms(lit)) termVars(t, out);
  if (lit.k === "every") {
    const inner = new Set<number>();
    for (const l of lit.body) litVars(l, inner);
    for (const s of inner) if (s < lit.lo) out.add(s);
  }
}

/** Slots read anywhere in a term (nested comprehensions contribute their free slots). */
export function termVars(t: CTerm, out: Set<number>): void {
  switch (t.t) {
    case "local":
      out.add(t.slot);
      return;
    case "arrayCompr":
    case "setCompr":
    case "objectCompr": {
      const inner = new Set<number>();
      for (const l of t.body) litVars(l, inner);
      if (t.t === "objectCompr") {
        termVars(t.key, inner);
        termVars(t.value, inner);
      } else termVars(t.head, inner);
      for (const s of inner) if (s < t.lo) out.add(s);
      return;
    }
    default:
      forEachChild(t, (c) => termVars(c, out), false);
  }
}

/** Calls `f` on the direct sub-terms of `t` (comprehension bodies only if `deep`). */
export function forEachChild(t: CTerm, f: (c: CTerm) => void, deep: boolean): void {
  switch (t.t) {
    case "data":
      t.path.forEach(f);
      return;
    case "ref":
      f(t.head);
      t.path.forEach(f);
      return;
    case "array":
    case "set":
      t.items.forEach(f);
      return;
    case "object":
      for (const [k, v] of t.entries) {
        f(k);
        f(v);
      }
      return;
    case "call":
      t.args.forEach(f);
      return;
    case "binary":
      f(t.l);
      f(t.r);
      return;
    case "neg":
      f(t.operand);
      return;
    case "in":
      if (t.key) f(t.key);
      f(t.value);
      f(t.coll);
      return;
    case "assign":
      f(t.l);
      f(t.r);
      return;
    case "template":
      for (const p of t.parts) if (typeof p !== "string") f(p);
      return;
    case "arrayCompr":
    case "setCompr":
    case "objectCompr":
      if (!deep) return;
      if (t.t === "objectCompr") {
        f(t.key);
        f(t.value);
      } else f(t.head);
      for (const l of t.body) litTerms(l).forEach(f);
      return;
    default:
      return;
  }
}

/** Slots a statement can bind. */
function litOutputs(lit: CLit, out: Set<number>): void {
  if (lit.k === "someIn") {
    if (lit.key) patternVars(lit.key, out);
    patternVars(lit.value, out);
    refIndexVars(lit.coll, out);
    return;
  }
  if (lit.k === "every" || lit.neg) return;
  const e = lit.e;
  if (e.t === "assign") {
    if (e.op === ":=") {
      termVars(e.l, out);
    } else {
      patternVars(e.l, out);
      patternVars(e.r, out);
      refIndexVars(e.l, out);
    }
    refIndexVars(e.r, out);
    return;
  }
  refIndexVars(e, out);
}

/** Vars in pattern position: the term itself or nested in array/object literals. */
function patternVars(t: CTerm, out: Set<number>): void {
  if (t.t === "local") out.add(t.slot);
  else if (t.t === "array") for (const i of t.items) patternVars(i, out);
  else if (t.t === "object") for (const [, v] of t.entries) patternVars(v, out);
  else refIndexVars(t, out);
}

/** Vars used as ref path elements (bound by iteration) and call output args, at any depth. */
function refIndexVars(t: CTerm, out: Set<number>): void {
  if (t.t === "ref" || t.t === "data") {
    for (const p of t.path) patternVars(p, out);
    if (t.t === "ref") refIndexVars(t.head, out);
    return;
  }
  if (t.t === "call" && t.outArg) {
    const last = t.args[t.args.length - 1];
    if (last) patternVars(last, out);
  }
  if (t.t === "arrayCompr" || t.t === "setCompr" || t.t === "objectCompr") return;
  forEachChild(t, (c) => refIndexVars(c, out), false);
}
