/**
 * The seam between Trustee and a Rego evaluator. Trustee never interprets Rego itself: the
 * project's engine (`src/rego`) is adapted to this interface in `rego-engine.ts`.
 */

/** A host function callable from policies (e.g. `query_reference_value`). */
export type HostFunction = (...args: unknown[]) => unknown;

/** A compiled policy, ready to evaluate many times. */
export interface PreparedPolicy {
  /**
   * Evaluates `data.policy.<rule>` for each of `rules` with `input` and `data`; a rule that is
   * undefined maps to undefined. `functions` are bound for this evaluation only.
   * Evaluation errors throw (the caller turns them into coded errors).
   */
  evaluate(
    input: unknown,
    data: unknown,
    rules: readonly string[],
    functions?: Readonly<Record<string, HostFunction>>,
  ): Record<string, unknown>;
}

/** Compiles policies. */
export interface PolicyEngine {
  /** Compiles `text` (package `policy`); a syntax or type error throws with its location. */
  prepare(text: string, hostFunctions?: readonly { name: string; arity: number }[]): PreparedPolicy;
}
