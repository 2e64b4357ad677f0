import type { BuiltinContext } from "../builtins/types.js";
import { type Location, RegoError } from "../errors.js";
import type { JsonValue } from "../value/json.js";
import { ObjectValue, type Value } from "../value/value.js";
import type { CallTarget, CTerm, RuleNode, RuleSet } from "./ir.js";
import type { FnMemo } from "./memo.js";

/** Continuation: called once per solution; returns true to stop the enumeration. */
export type K = () => boolean;
/** Value continuation. */
export type VK = (v: Value) => boolean;

/** A host function registered by the embedding code. */
export interface HostFunction {
  arity: number;
  fn: (...args: JsonValue[]) => JsonValue | undefined;
}

/** Evaluation limits. */
export interface Limits {
  /** Maximum evaluation steps per query (statements, calls, iterations). */
  maxSteps: number;
  /** Maximum nesting of rule/function evaluation and comprehensions. */
  maxDepth: number;
  /** Wall-clock budget per query in milliseconds (checked every 4,096 steps). */
  maxMillis: number;
}

/** Defaults: generous for real policies, small enough to stop a runaway policy quickly. */
export const DEFAULT_LIMITS: Limits = { maxSteps: 50_000_000, maxDepth: 200, maxMillis: 30_000 };

/** Marks a rule being evaluated (to detect recursion). */
export const IN_PROGRESS: unique symbol = Symbol("in-progress");
/** Cached "undefined" result. */
export const UNDEF: unique symbol = Symbol("undef");

/** A function mock installed by `with`. */
export type Mock = { target: CallTarget } | { value: Value };

/** All mutable state of one query evaluation. */
export class EvalContext {
  input: Value | undefined;
  data: ObjectValue;
  cache = new Map<RuleSet, Value | typeof IN_PROGRESS | typeof UNDEF>();
  /** Function results by arguments (see memo.ts); replaced with `cache` under `with`. */
  fmemo: FnMemo = new Map();
  /** Values of `data` refs with constant paths (see fast.ts); replaced under `with`. */
  dcache = new Map<CTerm, Value | typeof UNDEF>();
  mocks = new Map<string, Mock>();
  masked = new Set<RuleNode>();
  steps = 0;
  depth = 0;
  readonly prints: string[] | undefined;
  readonly bctx: BuiltinContext;
  private readonly deadline: number;

  constructor(
    readonly root: RuleNode,
    data: ObjectValue,
    input: Value | undefined,
    readonly strict: boolean,
    readonly limits: Limits,
    readonly hostFns: ReadonlyMap<string, HostFunction>,
    gatherPrints: boolean,
    memo?: Map<string, unknown>,
  ) {
    this.data = data;
    this.input = input;
    this.prints = gatherPrints ? [] : undefined;
    this.deadline = Date.now() + limits.maxMillis;
    this.bctx = {
      strict,
      nowNs: BigInt(Date.now()) * 1_000_000n,
      cache: new Map(),
      memo,
    };
  }

  /** Counts one step; throws ERR_REGO_LIMIT when the budget is spent. */
  step(loc?: Location): void {
    if ((++this.steps & 4095) === 0 && Date.now() > this.deadline) {
      throw new RegoError(
        "ERR_REGO_LIMIT",
        `evaluation exceeded ${this.limits.maxMillis} ms`,
        loc ? { location: loc } : undefined,
      );
    }
    if (this.steps > this.limits.maxSteps) {
      throw new RegoError(
        "ERR_REGO_LIMIT",
        `evaluation exceeded ${this.limits.maxSteps} steps`,
        loc ? { location: loc } : undefined,
      );
    }
  }

  /** Enters a nested evaluation (rule, function, comprehension); pair with `leave`. */
  enter(loc: Location): void {
    if (++this.depth > this.limits.maxDepth) {
      this.depth = 0;
      throw new RegoError(
        "ERR_REGO_LIMIT",
        `evaluation nested deeper than ${this.limits.maxDepth} levels`,
        { location: loc },
      );
    }
  }

  leave(): void {
    this.depth--;
  }
}

/** Rego's conflict error (`eval_conflict_error`) at a location. */
export function conflict(message: string, loc: Location): RegoError {
  return new RegoError("ERR_REGO_CONFLICT", message, { location: loc });
}

/** A fresh empty object. */
export function emptyObject(): ObjectValue {
  return new ObjectValue();
}
