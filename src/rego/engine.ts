import type { Module } from "./ast/ast.js";
import { BUILTINS } from "./builtins/registry.js";
import { type Location, RegoError } from "./errors.js";
import { evalBody, evalWith } from "./eval/body.js";
import { compileModules, compileQuery, findNode } from "./eval/compile.js";
import { DEFAULT_LIMITS, EvalContext, type HostFunction, type Limits } from "./eval/context.js";
import { type PolicyDependencies, policyDependencies } from "./eval/dependencies.js";
import type { CLit, CTerm, RuleNode } from "./eval/ir.js";
import { evalTerm, type Frame, isStackOverflow } from "./eval/terms.js";
import { parseModule, parseQuery } from "./parser/parser.js";
import { fromJs, type JsonValue, parseJsonValue, toJs } from "./value/json.js";
import { ObjectValue, type Value } from "./value/value.js";

/** One expression of a query result row, in OPA's `--format json` shape. */
export interface ExpressionResult {
  value: JsonValue;
  text: string;
  location: { row: number; col: number };
}

/** One query result row. */
export interface QueryRow {
  expressions: ExpressionResult[];
  bindings: Record<string, JsonValue>;
}

/** OPA's query result set: `{}` when undefined, else `{ result: rows }`. */
export interface QueryResults {
  result?: QueryRow[];
}

/** Rego values as the raw row: bindings by name (sets kept as sets). */
export interface RawRow {
  bindings: Map<string, Value>;
  expressions: Value[];
}

/**
 * A Rego engine: policies are parsed when added and compiled once before the first
 * evaluation; data and input can change between evaluations. Values in and out are plain
 * JSON-ish JS values; Rego sets come out as arrays sorted in OPA order.
 */
export class Engine {
  private modules = new Map<string, Module>();
  private data = new ObjectValue();
  private input: Value | undefined;
  private regoV0 = false;
  private strict = true;
  private gatherPrints = false;
  private prints: string[] = [];
  private hostFns = new Map<string, HostFunction>();
  private limits: Limits = { ...DEFAULT_LIMITS };
  private root: RuleNode | undefined;
  private queries = new Map<string, CompiledQuery>();
  /** Builtins' engine-wide memo (compiled regexes); bounded in `run`. */
  private memo = new Map<string, unknown>();

  /** Parses and adds a policy module; returns its package as `data.<pkg>`. */
  addPolicy(path: string, text: string): string {
    const mod = parseModule(text, path, { v0: this.regoV0 });
    this.modules.set(path, mod);
    this.root = undefined;
    this.queries = new Map();
    return `data.${mod.pkg.join(".")}`;
  }

  /** Names of the added policy files. */
  policies(): string[] {
    return [...this.modules.keys()];
  }

  /** Merges a JSON object into `data` (objects merge deeply; other values must not clash). */
  addData(value: unknown): void {
    const v = value instanceof ObjectValue ? value : fromJs(value);
    if (!(v instanceof ObjectValue)) {
      throw new RegoError("ERR_REGO_INPUT", "data must be a JSON object");
    }
    this.data = mergeData(this.data, v, []);
  }

  /** Merges JSON text into `data`, keeping big integers exact. */
  addDataJson(text: string): void {
    this.addData(parseJsonValue(text));
  }

  /** Removes all data. */
  clearData(): void {
    this.data = new ObjectValue();
  }

  /** The current base data document. */
  getData(): JsonValue {
    return toJs(this.data);
  }

  /** Sets the input document (`undefined` clears it). */
  setInput(value: unknown): void {
    this.input = value === undefined ? undefined : fromJs(value);
  }

  /** Sets the input from JSON text, keeping big integers exact. */
  setInputJson(text: string): void {
    this.input = parseJsonValue(text);
  }

  /** Sets the input to an already-built Rego value (e.g. one holding sets). */
  setInputValue(value: Value | undefined): void {
    this.input = value;
  }

  /** Rego v0 syntax for policies added from now on (default: v1, as OPA 1.x and regorus). */
  setRegoV0(v0: boolean): void {
    this.regoV0 = v0;
  }

  /**
   * Whether builtin errors abort evaluation. Default true, as regorus (which Trustee relies
   * on); the Kata agent sets false; OPA's own default is false.
   */
  setStrictBuiltinErrors(strict: boolean): void {
    this.strict = strict;
  }

  /** Collect `print` output (read with {@link takePrints}). */
  setGatherPrints(on: boolean): void {
    this.gatherPrints = on;
  }

  /** Returns and clears the gathered print lines (`file:line: message`). */
  takePrints(): string[] {
    const p = this.prints;
    this.prints = [];
    return p;
  }

  /** Evaluation limits (steps per query and nesting depth). */
  setLimits(limits: Partial<Limits>): void {
    this.limits = { ...this.limits, ...limits };
  }

  /**
   * Registers a host function callable from Rego by `name` with `arity` arguments. It gets
   * JSON-ish values and returns one (`null` is a value; `undefined` makes the call undefined).
   */
  registerFunction(
    name: string,
    arity: number,
    fn: (...args: JsonValue[]) => JsonValue | undefined,
  ): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) {
      throw new RegoError("ERR_REGO_INPUT", `invalid function name ${JSON.stringify(name)}`);
    }
    this.hostFns.set(name, { arity, fn });
    this.root = undefined;
    this.queries = new Map();
  }

  /** Compiles the policies now (otherwise done on first evaluation). */
  prepare(): void {
    if (this.root) return;
    const hostArity = new Map([...this.hostFns].map(([n, h]) => [n, h.arity]));
    this.root = compileModules([...this.modules.values()], { builtins: BUILTINS, hostArity });
  }

  /**
   * What the compiled policies' results can depend on besides `data` and host functions: the
   * parts of `input` they read, and whether every builtin they call is deterministic.
   */
  dependencies(): PolicyDependencies {
    this.prepare();
    return policyDependencies(this.root!);
  }

  /** A copy sharing the compiled policies, with its own data, input and prints. */
  clone(): Engine {
    const e = new Engine();
    e.modules = new Map(this.modules);
    e.data = this.data;
    e.input = this.input;
    e.regoV0 = this.regoV0;
    e.strict = this.strict;
    e.gatherPrints = this.gatherPrints;
    e.hostFns = new Map(this.hostFns);
    e.limits = { ...this.limits };
    e.root = this.root;
    return e;
  }

  /**
   * Evaluates a rule by path (`data.pkg.rule`): its value, or `undefined` when the rule is
   * undefined. A path that names neither a rule, a package nor data throws ERR_REGO_RULE_PATH.
   */
  evalRule(path: string): JsonValue | undefined {
    const v = this.evalRuleValue(path);
    return v === undefined ? undefined : toJs(v);
  }

  /** Like {@link evalRule} but returns the Rego value (sets stay sets). */
  evalRuleValue(path: string): Value | undefined {
    this.prepare();
    const parts = path.split(".");
    if (parts[0] === "data") parts.shift();
    if (parts.some((p) => p.length === 0)) {
      throw new RegoError("ERR_REGO_RULE_PATH", `not a valid rule path: ${path}`);
    }
    if (
      !findNode(this.root!, parts) &&
      !ruleAbove(this.root!, parts) &&
      !hasDataPath(this.data, parts)
    ) {
      throw new RegoError("ERR_REGO_RULE_PATH", `not a valid rule path: ${path}`);
    }
    const loc: Location = { file: "query", line: 1, col: 1 };
    const term: CTerm = {
      t: "data",
      path: parts.map((p): CTerm => ({ t: "const", v: p, loc })),
      loc,
    };
    return this.run((ctx) => {
      let out: Value | undefined;
      evalTerm(ctx, term, [], (v) => {
        out = v;
        return true;
      });
      return out;
    });
  }

  /** Evaluates a query and returns OPA's result set shape. */
  evalQuery(query: string): QueryResults {
    const rows = this.evalQueryRaw(query);
    if (rows.rows.length === 0) return {};
    return {
      result: rows.rows.map((r) => ({
        expressions: r.expressions.map((v, i) => ({
          value: toJs(v),
          text: rows.texts[i]!.text,
          location: rows.texts[i]!.location,
        })),
        bindings: Object.fromEntries([...r.bindings].map(([k, v]) => [k, toJs(v)])),
      })),
    };
  }

  /** Evaluates a query and returns raw rows (Rego values) plus each expression's text. */
  evalQueryRaw(query: string): {
    rows: RawRow[];
    texts: { text: string; location: { row: number; col: number } }[];
  } {
    this.prepare();
    const { q, order, texts, captureFalse, nlits } = this.compiledQuery(query);
    const rows = this.run((ctx) => {
      const out: RawRow[] = [];
      const f: Frame = new Array(q.nslots);
      const exprs: Value[] = new Array(nlits).fill(true);
      const step = (i: number): boolean => {
        if (i === q.body.length) {
          const bindings = new Map<string, Value>();
          for (const [name, slot] of q.vars) {
            const v = f[slot];
            if (v !== undefined) bindings.set(name, v);
          }
          out.push({ bindings, expressions: exprs.slice() });
          return false;
        }
        const lit: CLit = q.body[i]!;
        const idx = order.get(lit.loc) ?? i;
        if (lit.k === "expr" && !lit.neg && lit.e.t !== "assign") {
          ctx.step(lit.loc);
          const e = lit.e;
          const capture = (c: EvalContext, _l: CLit, fr: Frame, k: () => boolean) =>
            evalTerm(c, e, fr, (v) => {
              // OPA reports the value of a lone variable-free expression even when false.
              if (v === false && !captureFalse) return false;
              exprs[idx] = v;
              return k();
            });
          const next = () => step(i + 1);
          return lit.withs.length > 0
            ? evalWith(ctx, lit, f, next, capture)
            : capture(ctx, lit, f, next);
        }
        exprs[idx] = true;
        return evalBody(ctx, [lit], 0, f, () => step(i + 1));
      };
      step(0);
      return out;
    });
    return { rows, texts };
  }

  /** Parses and compiles a query once per policy set (small cache keyed by the text). */
  private compiledQuery(query: string): CompiledQuery {
    const hit = this.queries.get(query);
    if (hit) return hit;
    const lits = parseQuery(query, "query");
    const hostArity = new Map([...this.hostFns].map(([n, h]) => [n, h.arity]));
    const q = compileQuery(lits, this.root!, { builtins: BUILTINS, hostArity });
    const order = new Map<Location, number>();
    for (const [i, l] of lits.entries()) order.set(l.loc, i);
    const texts = lits.map((l, i) => {
      const next = lits[i + 1];
      return {
        text: sliceText(query, l.loc, next?.loc),
        location: { row: l.loc.line, col: l.loc.col },
      };
    });
    const only = q.body[0];
    const captureFalse =
      q.body.length === 1 &&
      only !== undefined &&
      only.k === "expr" &&
      !only.neg &&
      only.e.t !== "assign" &&
      q.nslots === 0;
    const c: CompiledQuery = { q, order, texts, captureFalse, nlits: lits.length };
    if (this.queries.size >= 256) this.queries.clear();
    this.queries.set(query, c);
    return c;
  }

  private run<T>(fn: (ctx: EvalContext) => T): T {
    const ctx = new EvalContext(
      this.root!,
      this.data,
      this.input,
      this.strict,
      this.limits,
      this.hostFns,
      this.gatherPrints,
      this.memo,
    );
    if (this.memo.size > 512) this.memo.clear();
    try {
      return fn(ctx);
    } catch (e) {
      if (isStackOverflow(e)) {
        throw new RegoError(
          "ERR_REGO_LIMIT",
          "evaluation exhausted the stack (recursion too deep)",
          {
            cause: e,
          },
        );
      }
      throw e;
    } finally {
      if (ctx.prints) this.prints.push(...ctx.prints);
    }
  }
}

interface CompiledQuery {
  q: ReturnType<typeof compileQuery>;
  order: Map<Location, number>;
  texts: { text: string; location: { row: number; col: number } }[];
  captureFalse: boolean;
  nlits: number;
}

/** Creates an empty engine. */
export function createEngine(): Engine {
  return new Engine();
}

function mergeData(a: ObjectValue, b: ObjectValue, path: string[]): ObjectValue {
  const out = new ObjectValue(new Map(a.entries));
  for (const [k, v] of b.entries.values()) {
    const prev = out.get(k);
    if (prev instanceof ObjectValue && v instanceof ObjectValue) {
      out.set(k, mergeData(prev, v, [...path, String(k)]));
    } else {
      out.set(k, v);
    }
  }
  return out;
}

/** True when a prefix of `parts` names a rule (the rest of the path indexes its value). */
function ruleAbove(root: RuleNode, parts: string[]): boolean {
  for (let i = parts.length - 1; i > 0; i--) {
    if (findNode(root, parts.slice(0, i))?.rules) return true;
  }
  return false;
}

function hasDataPath(data: ObjectValue, parts: string[]): boolean {
  let v: Value | undefined = data;
  for (const p of parts) {
    if (!(v instanceof ObjectValue)) return false;
    v = v.get(p);
    if (v === undefined) return false;
  }
  return true;
}

function sliceText(src: string, from: Location, to: Location | undefined): string {
  const off = (l: Location) => {
    let line = 1;
    let i = 0;
    while (line < l.line && i < src.length) {
      if (src.charCodeAt(i) === 10) line++;
      i++;
    }
    return i + l.col - 1;
  };
  const s = src.slice(off(from), to ? off(to) : src.length);
  return s.replace(/[\s;]+$/, "");
}
