import type { Module, Rule, Term } from "../ast/ast.js";
import { RegoError } from "../errors.js";
import type { RuleNode } from "./ir.js";

/** Rejects a non-object rule with rules below it. */
export function checkRuleConflicts(node: RuleNode): void {
  if (node.rules && node.rules.kind !== "partialObject" && node.children.size > 0) {
    const child = [...node.children.values()].find((c) => hasRules(c));
    if (child && node.rules.kind !== "complete") {
      throw new RegoError(
        "ERR_REGO_COMPILE",
        `rego_type_error: conflicting rules data.${node.path.join(".")} found`,
        { opaCode: "rego_type_error" },
      );
    }
  }
  for (const c of node.children.values()) checkRuleConflicts(c);
}

/** True when the subtree holds any rule. */
export function hasRules(node: RuleNode): boolean {
  if (node.rules) return true;
  for (const c of node.children.values()) if (hasRules(c)) return true;
  return false;
}

/** The node at `path`, created on demand. */
export function nodeAt(root: RuleNode, path: readonly string[]): RuleNode {
  let n = root;
  for (let i = 0; i < path.length; i++) {
    const k = path[i]!;
    let c = n.children.get(k);
    if (!c) {
      c = { children: new Map(), rules: undefined, path: path.slice(0, i + 1) };
      n.children.set(k, c);
    }
    n = c;
  }
  return n;
}

/** Finds the node at `path`, or undefined. */
export function findNode(root: RuleNode, path: readonly string[]): RuleNode | undefined {
  let n: RuleNode | undefined = root;
  for (const k of path) {
    n = n.children.get(k);
    if (!n) return undefined;
  }
  return n;
}

/** The rule's path below data, and the variable keys of a ref head. */
export function rulePath(mod: Module, rule: Rule): { path: string[]; keys: Term[] } {
  const first = rule.head[0]!;
  const path = [...mod.pkg, first.type === "var" ? first.name : ""];
  const keys: Term[] = [];
  let i = 1;
  for (; i < rule.head.length; i++) {
    const h = rule.head[i]!;
    if (h.type === "scalar" && typeof h.value === "string" && keys.length === 0) {
      // For a partial set or function every element of the head must be constant.
      if (rule.kind !== "complete" || i < rule.head.length - 1 || rule.value !== undefined) {
        path.push(h.value);
        continue;
      }
      path.push(h.value);
      continue;
    }
    keys.push(h);
  }
  if (keys.length > 0 && rule.kind === "function") {
    throw new RegoError("ERR_REGO_COMPILE", "functions cannot have variables in their name", {
      location: rule.loc,
      opaCode: "rego_parse_error",
    });
  }
  return { path, keys };
}
