import type { Literal, Module, Rule, Term, With } from "../ast/ast.js";
import type { BuiltinTable } from "../builtins/types.js";
import { type Location, RegoError } from "../errors.js";
import { ObjectValue, type Value } from "../value/value.js";
import { type AnnotationIndex, metadataChain } from "./annotations.js";
import {
  collectLitSlots,
  collectSlots,
  directVars,
  foldConst,
  refNames,
  rewriteArgs,
  slotNameIn,
  termDirectVars,
} from "./compile-util.js";
import type { CallTarget, CLit, CRule, CTerm, CWith, RuleNode } from "./ir.js";
import { findNode, nodeAt } from "./rule-tree.js";
import { scheduleBody } from "./schedule.js";

/** Names the evaluator implements itself rather than through the builtin table. */
const SPECIAL_CALLS = new Set(["print", "walk"]);

/** What the compiler needs to know about callable names outside Rego. */
export interface CallEnv {
  builtins: BuiltinTable;
  hostArity: ReadonlyMap<string, number>;
}

interface Scope {
  names: Map<string, number>;
  parent: Scope | undefined;
}

/** Compiles the rules of one module (names resolve against that module's package/imports). */
export class RuleCompiler {
  /** What `rego.metadata.chain()` / `rego.metadata.rule()` return inside the rule compiled. */
  metadata: { index: AnnotationIndex; path: string[]; own: ObjectValue | undefined } | undefined;
  private nslots = 0;
  private readonly wildcards = new Set<number>();
  private readonly pkgNode: RuleNode;
  private readonly imports = new Map<string, Term>();

  constructor(
    private readonly mod: Module,
    private readonly root: RuleNode,
    private readonly env: CallEnv,
    /** Where bare names resolve as rules; a query passes an empty node (no package). */
    pkgNode?: RuleNode,
  ) {
    this.pkgNode = pkgNode ?? nodeAt(root, mod.pkg);
    for (const imp of mod.imports) {
      const p = imp.path;
      const head = p.type === "ref" ? p.head : p;
      if (head.type !== "var" || (head.name !== "data" && head.name !== "input")) continue;
      let alias = imp.alias;
      if (!alias) {
        if (p.type === "ref") {
          const last = p.path[p.path.length - 1]!;
          alias = last.type === "scalar" ? String(last.value) : undefined;
        } else alias = head.name;
      }
      if (alias && alias !== "input" && alias !== "data") this.imports.set(alias, p);
    }
  }

  compileRule(rule0: Rule, keys: Term[]): CRule {
    const rule = rewriteArgs(rule0);
    this.nslots = 0;
    this.wildcards.clear();
    const scope: Scope = { names: new Map(), parent: undefined };
    let args: CTerm[] | undefined;
    const bound = new Set<number>();
    if (rule.args) {
      for (const a of rule.args) this.declarePattern(a, scope);
      args = rule.args.map((a) => this.term(a, scope));
      for (const a of args) collectSlots(a, bound);
    }
    // Head vars (key, value, ref keys) live in the body's scope.
    const headTerms: Term[] = [...keys];
    if (rule.key) headTerms.push(rule.key);
    if (rule.value) headTerms.push(rule.value);
    const body = this.body(rule.body, scope, bound, headTerms);
    const cKeys = keys.map((k) => this.term(k, scope));
    if (rule.key) cKeys.push(this.term(rule.key, scope));
    const value = rule.value ? this.term(rule.value, scope) : undefined;
    const after = new Set(bound);
    for (const l of body) collectLitSlots(l, after);
    for (const t of [...cKeys, ...(value ? [value] : [])]) this.checkSafe(t, after, rule.loc);
    const elses = rule.elses.map((e) => {
      const eb = new Set(bound);
      const eBody = this.body(e.body, scope, eb, e.value ? [e.value] : []);
      const ev = e.value ? this.term(e.value, scope) : undefined;
      return { value: ev, body: eBody, loc: e.loc };
    });
    return {
      nslots: this.nslots,
      args,
      keys: cKeys,
      value,
      setLeaf: rule.kind === "partialSet" && keys.length > 0,
      body,
      elses,
      isDefault: rule.isDefault,
      loc: rule.loc,
    };
  }

  /** Compiles a top-level query in its own frame; returns literals and user var slots. */
  compileQuery(lits: Literal[]): { body: CLit[]; nslots: number; vars: Map<string, number> } {
    this.nslots = 0;
    const scope: Scope = { names: new Map(), parent: undefined };
    const body = this.body(lits, scope, new Set(), []);
    const vars = new Map<string, number>();
    for (const [n, s] of scope.names) if (!n.startsWith("$")) vars.set(n, s);
    return { body, nslots: this.nslots, vars };
  }

  private checkSafe(t: CTerm, bound: Set<number>, loc: Location): void {
    const vs = new Set<number>();
    collectSlots(t, vs);
    for (const s of vs) {
      if (!bound.has(s) && !this.wildcards.has(s)) {
        throw new RegoError("ERR_REGO_COMPILE", `var ${slotNameIn(t, s)} is unsafe`, {
          location: loc,
          opaCode: "rego_unsafe_var_error",
        });
      }
    }
  }

  private alloc(scope: Scope, name: string): number {
    const s = this.nslots++;
    if (name === "_") this.wildcards.add(s);
    else scope.names.set(name, s);
    return s;
  }

  private lookup(scope: Scope | undefined, name: string): number | undefined {
    for (let s = scope; s; s = s.parent) {
      const v = s.names.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  private isGlobal(name: string): boolean {
    return (
      name === "input" ||
      name === "data" ||
      this.imports.has(name) ||
      this.pkgNode.children.has(name)
    );
  }

  /** Declares every var of a pattern term in `scope` (shadowing outer names). */
  private declarePattern(t: Term, scope: Scope): void {
    switch (t.type) {
      case "var":
        if (t.name !== "_" && !scope.names.has(t.name)) this.alloc(scope, t.name);
        return;
      case "array":
        for (const i of t.items) this.declarePattern(i, scope);
        return;
      case "object":
        for (const [, v] of t.entries) this.declarePattern(v, scope);
        return;
      default:
        return;
    }
  }

  /**
   * Compiles a body in a new scope under `parent`: declared (`some`, `:=`, `some .. in`) and
   * implicit vars get slots first, then statements compile and are scheduled.
   */
  private body(lits: Literal[], scope: Scope, bound: Set<number>, extraTerms: Term[]): CLit[] {
    const sc: Scope = scope;
    for (const l of lits) {
      if (l.kind === "some") for (const v of l.vars) this.redeclare(sc, v);
    }
    // `:=` and `some .. in` declare their vars where they appear (compiled in order below),
    // so a comprehension before `x := ...` has its own x (OPA's local-var rewriting).
    const implicit = new Set<string>();
    const declaredLater = new Set<string>();
    for (const l of lits) {
      if (l.kind === "someIn") {
        if (l.key) termDirectVars(l.key, declaredLater);
        termDirectVars(l.value, declaredLater);
      } else if (l.kind === "expr" && l.expr.type === "assign" && l.expr.op === ":=") {
        termDirectVars(l.expr.left, declaredLater);
      }
    }
    for (const l of lits) {
      if (l.kind === "someIn") {
        termDirectVars(l.collection, implicit);
        for (const w of l.with) termDirectVars(w.value, implicit);
      } else if (l.kind === "expr" && l.expr.type === "assign" && l.expr.op === ":=") {
        termDirectVars(l.expr.right, implicit);
        for (const w of l.with) termDirectVars(w.value, implicit);
      } else directVars(l, implicit);
    }
    for (const t of extraTerms) termDirectVars(t, implicit);
    for (const n of declaredLater) implicit.delete(n);
    for (const name of implicit) {
      if (name === "_" || this.lookup(sc, name) !== undefined || this.isGlobal(name)) continue;
      this.alloc(sc, name);
    }
    const out: CLit[] = [];
    for (const l of lits) {
      const c = this.literal(l, sc);
      if (c) out.push(c);
    }
    return scheduleBody(out, bound, this.wildcards);
  }

  private redeclare(sc: Scope, name: string): void {
    if (name === "_") return;
    this.alloc(sc, name);
  }

  private declarePatternFresh(t: Term, sc: Scope): void {
    switch (t.type) {
      case "var":
        if (t.name !== "_") this.alloc(sc, t.name);
        return;
      case "array":
        for (const i of t.items) this.declarePatternFresh(i, sc);
        return;
      case "object":
        for (const [, v] of t.entries) this.declarePatternFresh(v, sc);
        return;
      default:
        return;
    }
  }

  private literal(l: Literal, sc: Scope): CLit | undefined {
    switch (l.kind) {
      case "some":
        return undefined;
      case "someIn": {
        const coll = this.term(l.collection, sc);
        const withs = l.with.map((w) => this.with(w, sc));
        if (l.key) this.declarePatternFresh(l.key, sc);
        this.declarePatternFresh(l.value, sc);
        return {
          k: "someIn",
          key: l.key ? this.term(l.key, sc) : undefined,
          value: this.term(l.value, sc),
          coll,
          withs,
          loc: l.loc,
        };
      }
      case "every": {
        const lo = this.nslots;
        const inner: Scope = { names: new Map(), parent: sc };
        if (l.key) this.declarePatternFresh(l.key, inner);
        this.declarePatternFresh(l.value, inner);
        const key = l.key ? this.term(l.key, inner) : undefined;
        const value = this.term(l.value, inner);
        const domain = this.term(l.domain, sc);
        const b = new Set<number>();
        for (let s = 0; s < this.nslots; s++) b.add(s);
        const body = this.body(l.body, inner, b, []);
        return {
          k: "every",
          key,
          value,
          domain,
          body,
          lo,
          withs: l.with.map((w) => this.with(w, sc)),
          loc: l.loc,
        };
      }
      case "expr":
        if (l.expr.type === "assign" && l.expr.op === ":=") {
          const right = this.term(l.expr.right, sc);
          const withs = l.with.map((w) => this.with(w, sc));
          this.declarePatternFresh(l.expr.left, sc);
          const left = this.term(l.expr.left, sc);
          return {
            k: "expr",
            e: { t: "assign", op: ":=", l: left, r: right, loc: l.expr.loc },
            neg: l.negated,
            withs,
            loc: l.loc,
          };
        }
        return {
          k: "expr",
          e: this.term(l.expr, sc),
          neg: l.negated,
          withs: l.with.map((w) => this.with(w, sc)),
          loc: l.loc,
        };
    }
  }

  private with(w: With, sc: Scope): CWith {
    const target = w.target;
    const names = refNames(target);
    if (!names) {
      throw new RegoError(
        "ERR_REGO_COMPILE",
        "with keyword target must reference data, input or a function",
        {
          location: w.loc,
          opaCode: "rego_compile_error",
        },
      );
    }
    const isFnTarget =
      names !== undefined &&
      names[0] !== "input" &&
      (names[0] !== "data" || this.isFunctionPath(names));
    const replacement = isFnTarget ? this.functionRef(w.value, sc) : undefined;
    const value: CTerm = replacement
      ? { t: "const", v: null, loc: w.value.loc }
      : this.term(w.value, sc);
    if (names[0] === "input") {
      return {
        kind: "input",
        path: names.slice(1),
        fnName: "",
        value,
        replacement: undefined,
        loc: w.loc,
      };
    }
    if (names[0] === "data") {
      const path = names.slice(1);
      const node = findNode(this.root, path);
      if (node?.rules?.kind === "function") {
        return {
          kind: "fn",
          path,
          fnName: `data.${path.join(".")}`,
          value,
          replacement,
          loc: w.loc,
        };
      }
      return { kind: "data", path, fnName: "", value, replacement: undefined, loc: w.loc };
    }
    const target2 = this.resolveCall(names.join("."), w.loc, -1);
    const fnName = target2.kind === "rule" ? `data.${target2.path.join(".")}` : target2.name;
    return { kind: "fn", path: [], fnName, value, replacement, loc: w.loc };
  }

  private isFunctionPath(names: string[]): boolean {
    return findNode(this.root, names.slice(1))?.rules?.kind === "function";
  }

  /** When a `with` value names a function, the call target it names. */
  private functionRef(t: Term, sc: Scope): CallTarget | undefined {
    const names = refNames(t);
    if (!names) return undefined;
    const full = names.join(".");
    const known =
      this.env.builtins[full] !== undefined ||
      this.env.hostArity.has(full) ||
      SPECIAL_CALLS.has(full);
    if (!known && this.lookup(sc, names[0]!) !== undefined) return undefined;
    if (names[0] === "data") {
      const node = findNode(this.root, names.slice(1));
      return node?.rules?.kind === "function"
        ? { kind: "rule", name: full, path: names.slice(1) }
        : undefined;
    }
    if (this.pkgNode.children.get(names[0]!)?.rules?.kind === "function") {
      return this.resolveCall(full, t.loc, -1);
    }
    if (this.env.builtins[full] || this.env.hostArity.has(full) || SPECIAL_CALLS.has(full)) {
      return this.resolveCall(full, t.loc, -1);
    }
    return undefined;
  }

  private term(t: Term, sc: Scope): CTerm {
    switch (t.type) {
      case "scalar":
        return { t: "const", v: t.value, loc: t.loc };
      case "var":
        return this.varTerm(t.name, t.loc, sc);
      case "ref": {
        const head = this.term(t.head, sc);
        const path = t.path.map((p) => this.term(p, sc));
        if (head.t === "data") return { t: "data", path: [...head.path, ...path], loc: t.loc };
        if (head.t === "ref")
          return { t: "ref", head: head.head, path: [...head.path, ...path], loc: t.loc };
        return { t: "ref", head, path, loc: t.loc };
      }
      case "array": {
        const items = t.items.map((i) => this.term(i, sc));
        return foldConst({ t: "array", items, loc: t.loc });
      }
      case "set": {
        const items = t.items.map((i) => this.term(i, sc));
        return foldConst({ t: "set", items, loc: t.loc });
      }
      case "object": {
        const entries = t.entries.map(
          ([k, v]) => [this.term(k, sc), this.term(v, sc)] as [CTerm, CTerm],
        );
        return foldConst({ t: "object", entries, loc: t.loc });
      }
      case "arrayCompr":
      case "setCompr": {
        const lo = this.nslots;
        const inner: Scope = { names: new Map(), parent: sc };
        const b = new Set<number>();
        for (let s = 0; s < lo; s++) b.add(s);
        const body = this.body(t.body, inner, b, [t.head]);
        const head = this.term(t.head, inner);
        return { t: t.type, head, body, lo, loc: t.loc };
      }
      case "objectCompr": {
        const lo = this.nslots;
        const inner: Scope = { names: new Map(), parent: sc };
        const b = new Set<number>();
        for (let s = 0; s < lo; s++) b.add(s);
        const body = this.body(t.body, inner, b, [t.key, t.value]);
        const s2 = inner;
        return {
          t: "objectCompr",
          key: this.term(t.key, s2),
          value: this.term(t.value, s2),
          body,
          lo,
          loc: t.loc,
        };
      }
      case "call": {
        if (
          (t.fn === "rego.metadata.chain" || t.fn === "rego.metadata.rule") &&
          t.args.length === 0 &&
          !this.pkgNode.children.has("rego")
        ) {
          const m = this.metadata;
          if (t.fn === "rego.metadata.rule") {
            const own = m?.own?.get("scope") === "rule" ? m.own : undefined;
            return { t: "const", v: own ?? new ObjectValue(), loc: t.loc };
          }
          const v = m
            ? metadataChain(m.index, this.mod.pkg, m.path, m.own)
            : Object.freeze([] as Value[]);
          return { t: "const", v, loc: t.loc };
        }
        const args = t.args.map((a) => this.term(a, sc));
        const target = this.resolveCall(t.fn, t.fnLoc, args.length);
        const arity = this.arityOf(target);
        const outArg = arity !== undefined && args.length === arity + 1;
        if (arity !== undefined && args.length !== arity && !outArg) {
          throw new RegoError(
            "ERR_REGO_COMPILE",
            `${t.fn}: arity mismatch: ${args.length} arguments given, ${arity} expected`,
            { location: t.loc, opaCode: "rego_type_error" },
          );
        }
        return { t: "call", target, args, outArg, loc: t.loc };
      }
      case "binary":
        return {
          t: "binary",
          op: t.op,
          l: this.term(t.left, sc),
          r: this.term(t.right, sc),
          loc: t.loc,
        };
      case "unary":
        return { t: "neg", operand: this.term(t.operand, sc), loc: t.loc };
      case "in":
        return {
          t: "in",
          key: t.key ? this.term(t.key, sc) : undefined,
          value: this.term(t.value, sc),
          coll: this.term(t.collection, sc),
          loc: t.loc,
        };
      case "assign":
        return {
          t: "assign",
          op: t.op,
          l: this.term(t.left, sc),
          r: this.term(t.right, sc),
          loc: t.loc,
        };
      case "template":
        return {
          t: "template",
          parts: t.parts.map((p) => (typeof p === "string" ? p : this.term(p, sc))),
          loc: t.loc,
        };
    }
  }

  private varTerm(name: string, loc: Location, sc: Scope): CTerm {
    if (name === "_") {
      const s = this.nslots++;
      this.wildcards.add(s);
      return { t: "local", slot: s, name: "_", loc };
    }
    const slot = this.lookup(sc, name);
    if (slot !== undefined) return { t: "local", slot, name, loc };
    if (name === "input") return { t: "input", loc };
    if (name === "data") return { t: "data", path: [], loc };
    const imp = this.imports.get(name);
    if (imp) return this.term(imp, { names: new Map(), parent: undefined });
    if (this.pkgNode.children.has(name)) {
      const path = [...this.mod.pkg, name].map((s): CTerm => ({ t: "const", v: s, loc }));
      return { t: "data", path, loc };
    }
    // Not declared anywhere reachable: a head var with no binding.
    const s = this.nslots++;
    sc.names.set(name, s);
    return { t: "local", slot: s, name, loc };
  }

  private arityOf(t: CallTarget): number | undefined {
    switch (t.kind) {
      case "builtin":
        return t.def.arity;
      case "host":
        return this.env.hostArity.get(t.name);
      case "rule":
        return findNode(this.root, t.path)?.rules?.arity;
      case "walk":
        return 1;
      default:
        return undefined;
    }
  }

  private resolveCall(name: string, loc: Location, _nargs: number): CallTarget {
    const parts = name.split(".");
    const first = parts[0]!;
    if (first === "data") return this.ruleTarget(name, parts.slice(1), loc);
    const imp = this.imports.get(first);
    if (imp) {
      const names = refNames(imp);
      if (names && names[0] === "data") {
        return this.ruleTarget(name, [...names.slice(1), ...parts.slice(1)], loc);
      }
    }
    if (this.pkgNode.children.has(first)) {
      const path = [...this.mod.pkg, ...parts];
      const node = findNode(this.root, path);
      if (node?.rules) return this.ruleTarget(name, path, loc);
    }
    if (name === "print") return { kind: "print", name };
    if (name === "walk") return { kind: "walk", name };
    if (this.env.hostArity.has(name)) return { kind: "host", name };
    const def = this.env.builtins[name];
    if (def) return { kind: "builtin", name, def };
    throw new RegoError("ERR_REGO_COMPILE", `undefined function ${name}`, {
      location: loc,
      opaCode: "rego_type_error",
    });
  }

  private ruleTarget(name: string, path: string[], loc: Location): CallTarget {
    const node = findNode(this.root, path);
    if (node?.rules?.kind !== "function") {
      throw new RegoError("ERR_REGO_COMPILE", `undefined function ${name}`, {
        location: loc,
        opaCode: "rego_type_error",
      });
    }
    return { kind: "rule", name, path };
  }
}
