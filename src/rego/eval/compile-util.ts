import type { Literal, Rule, Term } from "../ast/ast.js";
import { ObjectValue, SetValue, type Value } from "../value/value.js";
import type { CLit, CTerm } from "./ir.js";
import { forEachChild } from "./schedule.js";

/** Names of a ref made only of a var head and constant string elements. */
export function refNames(t: Term): string[] | undefined {
  if (t.type === "var") return [t.name];
  if (t.type !== "ref" || t.head.type !== "var") return undefined;
  const out = [t.head.name];
  for (const p of t.path) {
    if (p.type !== "scalar" || typeof p.value !== "string") return undefined;
    out.push(p.value);
  }
  return out;
}

/** Var names used directly by a statement (not inside nested comprehension/every bodies). */
export function directVars(l: Literal, out: Set<string>): void {
  switch (l.kind) {
    case "some":
      return;
    case "someIn":
      if (l.key) termDirectVars(l.key, out);
      termDirectVars(l.value, out);
      termDirectVars(l.collection, out);
      for (const w of l.with) termDirectVars(w.value, out);
      return;
    case "every":
      termDirectVars(l.domain, out);
      return;
    case "expr":
      termDirectVars(l.expr, out);
      for (const w of l.with) termDirectVars(w.value, out);
      return;
  }
}

/** Var names used directly by a term. */
export function termDirectVars(t: Term, out: Set<string>): void {
  switch (t.type) {
    case "var":
      out.add(t.name);
      return;
    case "scalar":
      return;
    case "ref":
      termDirectVars(t.head, out);
      for (const p of t.path) termDirectVars(p, out);
      return;
    case "array":
    case "set":
      for (const i of t.items) termDirectVars(i, out);
      return;
    case "object":
      t.entries.forEach(([k, v]) => {
        termDirectVars(k, out);
        termDirectVars(v, out);
      });
      return;
    case "arrayCompr":
    case "setCompr":
    case "objectCompr":
    case "template":
      return;
    case "call":
      for (const a of t.args) termDirectVars(a, out);
      return;
    case "binary":
      termDirectVars(t.left, out);
      termDirectVars(t.right, out);
      return;
    case "unary":
      termDirectVars(t.operand, out);
      return;
    case "in":
      if (t.key) termDirectVars(t.key, out);
      termDirectVars(t.value, out);
      termDirectVars(t.collection, out);
      return;
    case "assign":
      termDirectVars(t.left, out);
      termDirectVars(t.right, out);
      return;
  }
}

/** Slots referenced by a compiled term. */
export function collectSlots(t: CTerm, out: Set<number>): void {
  if (t.t === "local") {
    out.add(t.slot);
    return;
  }
  switch (t.t) {
    case "data":
      for (const p of t.path) collectSlots(p, out);
      return;
    case "ref":
      collectSlots(t.head, out);
      for (const p of t.path) collectSlots(p, out);
      return;
    case "array":
    case "set":
      for (const i of t.items) collectSlots(i, out);
      return;
    case "object":
      t.entries.forEach(([k, v]) => {
        collectSlots(k, out);
        collectSlots(v, out);
      });
      return;
    case "call":
      for (const a of t.args) collectSlots(a, out);
      return;
    case "binary":
    case "assign":
      collectSlots(t.l, out);
      collectSlots(t.r, out);
      return;
    case "neg":
      collectSlots(t.operand, out);
      return;
    case "in":
      if (t.key) collectSlots(t.key, out);
      collectSlots(t.value, out);
      collectSlots(t.coll, out);
      return;
    default:
      return;
  }
}

/** Slots referenced by a compiled statement. */
export function collectLitSlots(l: CLit, out: Set<number>): void {
  if (l.k === "expr") collectSlots(l.e, out);
  else if (l.k === "someIn") {
    if (l.key) collectSlots(l.key, out);
    collectSlots(l.value, out);
    collectSlots(l.coll, out);
  } else collectSlots(l.domain, out);
}

/** Source name of a slot inside a term (for messages). */
export function slotNameIn(t: CTerm, slot: number): string {
  let name = `#${slot}`;
  const walk = (x: CTerm): void => {
    if (x.t === "local" && x.slot === slot) name = x.name;
    forEachChild(x, walk, false);
  };
  walk(t);
  return name;
}

/** Folds collection literals whose items are all constants into one constant. */
export function foldConst(t: CTerm): CTerm {
  if (t.t === "array") {
    if (!t.items.every((i) => i.t === "const")) return t;
    return { t: "const", v: Object.freeze(t.items.map((i) => (i as { v: Value }).v)), loc: t.loc };
  }
  if (t.t === "set") {
    if (!t.items.every((i) => i.t === "const")) return t;
    return { t: "const", v: SetValue.of(t.items.map((i) => (i as { v: Value }).v)), loc: t.loc };
  }
  if (t.t === "object") {
    if (!t.entries.every(([k, v]) => k.t === "const" && v.t === "const")) return t;
    const o = new ObjectValue();
    for (const [k, v] of t.entries) {
      const kv = (k as { v: Value }).v;
      const vv = (v as { v: Value }).v;
      if (o.has(kv)) return t; // duplicate keys are checked at evaluation time
      o.set(kv, vv);
    }
    return { t: "const", v: o, loc: t.loc };
  }
  return t;
}

/**
 * Function parameters that are not patterns (templates, calls, refs, arithmetic) become fresh
 * variables compared in the body, as OPA rewrites them.
 */
export function rewriteArgs(rule: Rule): Rule {
  if (!rule.args) return rule;
  const extra: Literal[] = [];
  const args = rule.args.map((a, i) => {
    if (isArgPattern(a)) return a;
    const v: Term = { type: "var", name: `$arg${i}`, loc: a.loc };
    extra.push({
      kind: "expr",
      expr: { type: "binary", op: "==", left: v, right: a, loc: a.loc },
      negated: false,
      with: [],
      loc: a.loc,
    });
    return v;
  });
  if (extra.length === 0) return rule;
  return { ...rule, args, body: [...rule.body, ...extra] };
}

/** True for terms usable as function-parameter patterns. */
export function isArgPattern(t: Term): boolean {
  switch (t.type) {
    case "var":
    case "scalar":
      return true;
    case "array":
    case "set":
      return t.items.every(isArgPattern);
    case "object":
      return t.entries.every(([k, v]) => isArgPattern(k) && isArgPattern(v));
    default:
      return false;
  }
}
