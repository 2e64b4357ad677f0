import type { Literal, Module, Rule, Term } from "../ast/ast.js";
import { RegoError } from "../errors.js";
import type { ObjectValue } from "../value/value.js";
import { type AnnotationIndex, parseAnnotations } from "./annotations.js";
import type { CLit, RuleNode, RuleSet } from "./ir.js";
import { type CallEnv, RuleCompiler } from "./rule-compiler.js";
import { checkRuleConflicts, nodeAt, rulePath } from "./rule-tree.js";

export type { CallEnv } from "./rule-compiler.js";
export { findNode, nodeAt } from "./rule-tree.js";

/** Builds the rule tree for a set of parsed modules and compiles every rule. */
export function compileModules(modules: readonly Module[], env: CallEnv): RuleNode {
  const root: RuleNode = { children: new Map(), rules: undefined, path: [] };
  const pending: { mod: Module; rule: Rule; set: RuleSet; keys: Term[] }[] = [];
  for (const mod of modules) {
    // Make package nodes exist so `data.pkg` is defined even without rules.
    nodeAt(root, mod.pkg);
    for (const rule of mod.rules) {
      const { path, keys } = rulePath(mod, rule);
      const kind: RuleSet["kind"] =
        rule.kind === "function"
          ? "function"
          : keys.length > 0
            ? "partialObject"
            : rule.kind === "partialSet"
              ? "partialSet"
              : "complete";
      const node = nodeAt(root, path);
      if (!node.rules) {
        node.rules = { path, kind, defs: [], defaults: [], arity: rule.args?.length ?? 0 };
      } else if (node.rules.kind !== kind) {
        // A default of a ref-head partial object is fine as a complete default.
        throw new RegoError("ERR_REGO_COMPILE", `conflicting rules data.${path.join(".")} found`, {
          location: rule.loc,
          opaCode: "rego_type_error",
        });
      } else if (kind === "function" && node.rules.arity !== (rule.args?.length ?? 0)) {
        throw new RegoError(
          "ERR_REGO_COMPILE",
          `conflicting rules data.${path.join(".")} found: function arity differs`,
          { location: rule.loc, opaCode: "rego_type_error" },
        );
      }
      pending.push({ mod, rule, set: node.rules, keys });
    }
  }
  checkRuleConflicts(root);
  const annotations: AnnotationIndex = { packages: new Map(), documents: new Map() };
  for (const mod of modules) {
    if (mod.pkgAnnotations !== undefined) {
      const a = parseAnnotations(mod.pkgAnnotations, "package", {
        file: mod.file,
        line: 1,
        col: 1,
      });
      if (a.get("scope") === "package") annotations.packages.set(mod.pkg.join("\u0000"), a);
    }
  }
  const own = new Map<Rule, ObjectValue>();
  for (const { rule, set } of pending) {
    if (rule.annotations === undefined) continue;
    const a = parseAnnotations(rule.annotations, "rule", rule.loc);
    own.set(rule, a);
    if (a.get("scope") === "document") annotations.documents.set(set.path.join("\u0000"), a);
  }
  for (const { mod, rule, set, keys } of pending) {
    const rc = new RuleCompiler(mod, root, env);
    rc.metadata = { index: annotations, path: set.path, own: own.get(rule) };
    const c = rc.compileRule(rule, keys);
    if (rule.isDefault) {
      if (set.defaults.length > 0) {
        throw new RegoError(
          "ERR_REGO_COMPILE",
          `multiple default rules data.${set.path.join(".")} found`,
          { location: rule.loc, opaCode: "rego_type_error" },
        );
      }
      set.defaults.push(c);
    } else set.defs.push(c);
  }
  return root;
}

/** Compiles a query against the given tree (names resolve as in a package-less module). */
export function compileQuery(
  lits: Literal[],
  root: RuleNode,
  env: CallEnv,
): { body: CLit[]; nslots: number; vars: Map<string, number> } {
  const mod: Module = { file: "query", pkg: [], imports: [], rules: [], regoV1: true };
  // Bare names in a query are variables, never rules: resolve them against an empty package.
  const noPackage: RuleNode = { children: new Map(), rules: undefined, path: [] };
  return new RuleCompiler(mod, root, env, noPackage).compileQuery(lits);
}
