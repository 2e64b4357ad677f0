import type { Json } from "../../../protocol/agent/index.js";
import { AgentError } from "../errors.js";
import { applyPatch, type PatchOp } from "./json-patch.js";

/**
 * The part of the Rego engine (`createEngine()` from src/rego) the agent needs. Stated here as a
 * structural type so the agent takes the engine as a dependency instead of importing it deep.
 */
export interface RegoEngineLike {
  addPolicy(path: string, text: string): unknown;
  addData(value: unknown): unknown;
  clearData(): unknown;
  setInput(value: unknown): unknown;
  /** OPA-shaped result rows; `{}` or no rows when undefined. */
  evalQuery(query: string): { result?: { expressions: { value: unknown }[] }[] };
  setStrictBuiltinErrors?(on: boolean): unknown;
  setGatherPrints?(on: boolean): unknown;
  takePrints?(): string[];
}

/** A policy decision: a value, never an exception. */
export interface PolicyDecision {
  allowed: boolean;
  /** The policy's print() output, joined, for the PERMISSION_DENIED message. */
  prints: string;
  /** Why the decision was what it was, when not from the rules (no policy, undefined rule). */
  reason?: string;
}

/** Options for {@link createAgentPolicy}. */
export interface AgentPolicyOptions {
  /** Makes a fresh engine (Kata resets the engine, and so the state, on SetPolicy). */
  newEngine: () => RegoEngineLike;
  /** The initial policy text (from init-data or the guest image); none means deny everything. */
  policy?: string;
}

/** The agent policy: evaluates `data.agent_policy.<Request>` for every request. */
export interface AgentPolicy {
  /** True when a policy is loaded (confidential sandboxes start without one: deny all). */
  readonly loaded: boolean;
  /** Evaluates the rule named after the request with the request as input. */
  check(entrypoint: string, input: Json): PolicyDecision;
  /** Replaces the policy and resets its state (call only after SetPolicyRequest was allowed). */
  setPolicy(text: string): void;
  /** The current `data.pstate` document (for tests and diagnostics). */
  state(): Record<string, unknown>;
}

/**
 * Creates the agent policy, as the Kata agent drives regorus: non-strict builtin errors, prints
 * gathered, `pstate` as persistent state patched by the `ops` a rule returns. Without a policy
 * every request is denied: there is no allow-all default (upstream ships one).
 */
export function createAgentPolicy(opts: AgentPolicyOptions): AgentPolicy {
  let engine: RegoEngineLike | undefined;
  // The engine's data document: {pstate: {...}}. Rules return JSON-patch ops on it with
  // `/pstate/<key>` paths, as upstream's rules.rego does.
  let data: Record<string, unknown> = { pstate: {} };
  let allowFailures = false;

  const load = (text: string) => {
    const e = opts.newEngine();
    e.setStrictBuiltinErrors?.(false);
    e.setGatherPrints?.(true);
    try {
      e.addPolicy("agent_policy", text);
    } catch (err) {
      throw new AgentError(
        "ERR_AGENT_POLICY",
        `the agent policy does not parse: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    data = { pstate: {} };
    e.addData(data);
    engine = e;
    allowFailures = false;
    // Kata's debug escape hatch: a policy that sets this has denials logged but allowed. We honour
    // it for compatibility and say so in every decision it changes.
    allowFailures = evalBool("AllowRequestsFailingPolicy", {}) === true;
  };

  const evalBool = (entrypoint: string, input: Json): unknown => {
    if (!engine) return undefined;
    engine.setInput(input);
    // A query, as Kata runs it: a missing or undefined rule is "no result", which denies.
    const rows = engine.evalQuery(`data.agent_policy.${entrypoint}`).result ?? [];
    if (rows.length === 0) return undefined;
    if (rows.length !== 1 || rows[0]!.expressions.length !== 1) {
      throw new AgentError("ERR_AGENT_POLICY", `${entrypoint}: unexpected policy result shape`);
    }
    return rows[0]!.expressions[0]!.value;
  };

  const prints = (): string => engine?.takePrints?.().join(" ") ?? "";

  if (opts.policy !== undefined) load(opts.policy);

  return {
    get loaded() {
      return engine !== undefined;
    },
    check(entrypoint, input) {
      if (!engine) {
        return {
          allowed: false,
          prints: "",
          reason: "no agent policy is loaded (deny by default)",
        };
      }
      let result: unknown;
      try {
        result = evalBool(entrypoint, input);
      } catch (err) {
        throw new AgentError(
          "ERR_AGENT_POLICY",
          `${entrypoint}: policy evaluation failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      const printed = prints();
      let allowed = false;
      let reason: string | undefined;
      if (typeof result === "boolean") allowed = result;
      else if (result !== null && typeof result === "object" && !Array.isArray(result)) {
        const r = result as { allowed?: unknown; ops?: unknown };
        allowed = r.allowed === true;
        if (allowed && Array.isArray(r.ops) && r.ops.length > 0) {
          data = applyPatch(data, r.ops as PatchOp[]);
          engine.clearData();
          engine.addData(data);
        }
      } else if (result === undefined) {
        reason = `rule data.agent_policy.${entrypoint} is undefined`;
      } else {
        throw new AgentError(
          "ERR_AGENT_POLICY",
          `${entrypoint}: policy returned neither a boolean nor {allowed, ops}`,
        );
      }
      if (!allowed && allowFailures) {
        return { allowed: true, prints: printed, reason: "AllowRequestsFailingPolicy is set" };
      }
      return { allowed, prints: printed, ...(reason ? { reason } : {}) };
    },
    setPolicy(text) {
      load(text);
    },
    state() {
      return structuredClone((data.pstate as Record<string, unknown>) ?? {});
    },
  };
}
