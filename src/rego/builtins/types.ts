import type { Value } from "../value/value.js";

/**
 * What a builtin can see besides its arguments. Builtins are pure functions of their
 * arguments and this context; they never do I/O.
 */
export interface BuiltinContext {
  /** Whether builtin errors abort evaluation (Trustee) or make the call undefined (Kata). */
  readonly strict: boolean;
  /** Wall-clock time of the query start in ns since the epoch (`time.now_ns` must be stable). */
  readonly nowNs: bigint;
  /** Per-query cache: non-deterministic results that must stay stable within one query. */
  readonly cache: Map<string, unknown>;
  /**
   * Engine-wide memo for pure, immutable results that are costly to rebuild (compiled regexes
   * and globs). Survives across queries; the engine bounds its size. Optional so unit tests can
   * pass a bare context.
   */
  readonly memo?: Map<string, unknown>;
}

/**
 * A builtin implementation: receives exactly `arity` evaluated arguments (never undefined)
 * and returns a value, or `undefined` when the call is undefined (e.g. a failed lookup).
 * Errors are thrown with {@link operandError} (OPA `eval_type_error`) or {@link builtinError}
 * (OPA `eval_builtin_error`) from `./args.ts`; the evaluator adds the location, and in
 * non-strict mode turns them into undefined.
 */
export type BuiltinFn = (args: readonly Value[], ctx: BuiltinContext) => Value | undefined;

/** One builtin: its arity (number of arguments, not counting the output) and implementation. */
export interface BuiltinDef {
  readonly arity: number;
  readonly fn: BuiltinFn;
  /** True when results differ between calls with the same arguments (rand, time.now_ns). */
  readonly nondeterministic?: boolean;
}

/** A namespace file exports one table: full dotted name → definition. */
export type BuiltinTable = Readonly<Record<string, BuiltinDef>>;
