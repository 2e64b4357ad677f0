import { compare, equal, ObjectValue, SetValue, type Value } from "../value/value.js";
import { index } from "./collections.js";
import { conflict, type EvalContext, type VK } from "./context.js";
import type { CTerm, RuleNode } from "./ir.js";
import { evalRuleSet } from "./rules.js";
import { evalTerm, type Frame, walkValue } from "./terms.js";
import { isPattern, unify } from "./unify.js";

/** Evaluates `data.<path>`: walks the rule tree, evaluating rules and merging base data. */
export function evalDataRef(ctx: EvalContext, path: CTerm[], f: Frame, k: VK): boolean {
  return walkData(ctx, ctx.root, ctx.data, path, 0, f, k);
}

function walkData(
  ctx: EvalContext,
  node: RuleNode,
  base: Value | undefined,
  path: CTerm[],
  i: number,
  f: Frame,
  k: VK,
): boolean {
  if (ctx.masked.size > 0 && ctx.masked.has(node)) {
    return base === undefined ? false : walkValue(ctx, base, path, i, f, k);
  }
  if (node.rules) {
    if (node.rules.kind === "function") return false;
    const v = nodeValue(ctx, node, base);
    return v === undefined ? false : walkValue(ctx, v, path, i, f, k);
  }
  if (i === path.length) {
    const v = materialize(ctx, node, base);
    return v === undefined ? false : k(v);
  }
  const e = path[i]!;
  let key: Value | undefined;
  if (e.t === "const") key = e.v;
  else if (e.t === "local" && f[e.slot] !== undefined) key = f[e.slot];
  if (key !== undefined) return stepData(ctx, node, base, key, path, i, f, k);
  if (isPattern(e, f)) {
    // Iterate over the union of rule-tree children and base-data keys.
    const keys: Value[] = [];
    const seen = new Set<string>();
    for (const c of node.children.keys()) {
      seen.add(c);
      keys.push(c);
    }
    if (base instanceof ObjectValue) {
      for (const [kk] of base.entries.values()) {
        if (typeof kk === "string" && seen.has(kk)) continue;
        keys.push(kk);
      }
    }
    keys.sort(compare);
    for (const kk of keys) {
      ctx.step(e.loc);
      if (unify(ctx, e, kk, f, () => stepData(ctx, node, base, kk, path, i, f, k))) return true;
    }
    return false;
  }
  return evalTerm(ctx, e, f, (kv) => stepData(ctx, node, base, kv, path, i, f, k));
}

function stepData(
  ctx: EvalContext,
  node: RuleNode,
  base: Value | undefined,
  key: Value,
  path: CTerm[],
  i: number,
  f: Frame,
  k: VK,
): boolean {
  // The data store's paths are strings: data[2] reads key "2" of base documents.
  const skey = typeof key === "number" ? String(key) : key;
  const child = typeof skey === "string" ? node.children.get(skey) : undefined;
  let sub = base === undefined ? undefined : index(base, key);
  if (sub === undefined && skey !== key && base !== undefined) sub = index(base, skey);
  if (child) return walkData(ctx, child, sub, path, i + 1, f, k);
  if (sub === undefined) return false;
  // Below the rule tree: plain base data, still with string-keyed store semantics.
  return sub instanceof ObjectValue
    ? walkData(ctx, LEAF, sub, path, i + 1, f, k)
    : walkValue(ctx, sub, path, i + 1, f, k);
}

/** The value of a node that holds rules, merged with base data and child rules. */
function nodeValue(ctx: EvalContext, node: RuleNode, base: Value | undefined): Value | undefined {
  // A base document at the same path as a rule takes precedence (OPA reads the store first).
  if (base !== undefined && !(base instanceof ObjectValue)) return base;
  const v = evalRuleSet(ctx, node.rules!);
  if (node.children.size === 0) return v;
  // Rules below a rule's path extend its object; a clash is a conflict (OPA checks the same).
  const kids = mergeChildren(ctx, node, undefined) as ObjectValue;
  if (kids.size === 0) return v;
  if (v === undefined) return kids;
  if (node.rules!.kind === "complete" || !(v instanceof ObjectValue)) {
    throw conflict("object keys must be unique", node.rules!.defs[0]?.loc ?? NOLOC);
  }
  // Values the rule produces sit `depth` keys down; rules below may add keys above that level
  // but never merge into such a value.
  let depth = Number.POSITIVE_INFINITY;
  for (const d of node.rules!.defs)
    depth = Math.min(depth, d.setLeaf ? d.keys.length - 1 : d.keys.length);
  return mergeStrict(v, kids, node.rules!.defs[0]?.loc ?? NOLOC, depth);
}

const NOLOC = { file: "", line: 0, col: 0 };

function mergeStrict(
  a: ObjectValue,
  b: ObjectValue,
  loc: typeof NOLOC,
  depth = Number.POSITIVE_INFINITY,
): ObjectValue {
  const out = new ObjectValue(new Map(a.entries));
  for (const [k, v] of b.entries.values()) {
    const p = out.get(k);
    if (p === undefined) out.set(k, v);
    else if (p instanceof ObjectValue && v instanceof ObjectValue) {
      if (depth <= 1) throw conflict("object keys must be unique", loc);
      out.set(k, mergeStrict(p, v, loc, depth - 1));
    } else if (p instanceof SetValue && v instanceof SetValue) {
      const s = new SetValue(new Map(p.items));
      for (const [kk, e] of v.items) s.items.set(kk, e);
      out.set(k, s);
    } else if (!equal(p, v)) throw conflict("object keys must be unique", loc);
  }
  return out;
}

/** Builds the full document at a rule-tree node: base data, rules and sub-packages. */
export function materialize(
  ctx: EvalContext,
  node: RuleNode,
  base: Value | undefined,
): Value | undefined {
  if (ctx.masked.size > 0 && ctx.masked.has(node)) return base;
  if (node.rules) {
    if (node.rules.kind === "function") return undefined;
    return nodeValue(ctx, node, base);
  }
  return mergeChildren(ctx, node, base);
}

const LEAF: RuleNode = { children: new Map(), rules: undefined, path: [] };

function mergeChildren(ctx: EvalContext, node: RuleNode, base: Value | undefined): Value {
  if (node.children.size === 0 && base !== undefined) return base;
  if (base !== undefined && !(base instanceof ObjectValue)) return base;
  const out =
    base instanceof ObjectValue ? new ObjectValue(new Map(base.entries)) : new ObjectValue();
  for (const [key, child] of node.children) {
    const v = materialize(ctx, child, out.get(key));
    if (v === undefined) continue;
    const prev = out.get(key);
    if (prev !== undefined && !(prev instanceof ObjectValue && v instanceof ObjectValue)) continue;
    out.set(
      key,
      prev instanceof ObjectValue && v instanceof ObjectValue ? mergeObjects(prev, v) : v,
    );
  }
  return out;
}

function mergeObjects(a: ObjectValue, b: ObjectValue): ObjectValue {
  const out = new ObjectValue(new Map(a.entries));
  for (const [k, v] of b.entries.values()) {
    const p = out.get(k);
    out.set(k, p instanceof ObjectValue && v instanceof ObjectValue ? mergeObjects(p, v) : v);
  }
  return out;
}
