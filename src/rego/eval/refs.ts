import { ObjectValue, type Value } from "../value/value.js";
import { index } from "./collections.js";
import type { EvalContext, VK } from "./context.js";
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
  const child = typeof key === "string" ? node.children.get(key) : undefined;
  const sub = base === undefined ? undefined : index(base, key);
  if (child) return walkData(ctx, child, sub, path, i + 1, f, k);
  return sub === undefined ? false : walkValue(ctx, sub, path, i + 1, f, k);
}

/** The value of a node that holds rules, merged with base data and child rules. */
function nodeValue(ctx: EvalContext, node: RuleNode, base: Value | undefined): Value | undefined {
  const v = evalRuleSet(ctx, node.rules!);
  if (node.children.size === 0) return v;
  if (v !== undefined && !(v instanceof ObjectValue)) return v;
  return mergeChildren(ctx, node, v instanceof ObjectValue ? v : base);
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

function mergeChildren(ctx: EvalContext, node: RuleNode, base: Value | undefined): Value {
  if (base !== undefined && !(base instanceof ObjectValue)) return base;
  const out =
    base instanceof ObjectValue ? new ObjectValue(new Map(base.entries)) : new ObjectValue();
  for (const [key, child] of node.children) {
    const v = materialize(ctx, child, out.get(key));
    if (v === undefined) continue;
    const prev = out.get(key);
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
