/**
 * The KBS resource policy (kbs/src/policy_engine): one Rego policy, stored in namespace `kbs`
 * as `resource-policy.rego`, seeded with the built-in default on first start (a policy set
 * later survives restarts). `data.policy.allow` must be exactly `true`.
 */
import { RESOURCE_POLICY_DEFAULT } from "../as/policy/default-policies.js";
import type { PolicyEngine, PreparedPolicy } from "../as/policy/engine.js";
import type { KeyValueStore } from "../storage/types.js";
import { KbsServerError } from "./errors.js";

const NAMESPACE = "kbs";
const KEY = "resource-policy.rego";

/** The decision, with the reason when denied. */
export interface ResourceDecision {
  allow: boolean;
  reason?: string;
}

/** The resource policy. */
export interface ResourcePolicy {
  set(text: string): Promise<void>;
  ids(): Promise<string[]>;
  evaluate(
    claims: unknown,
    data: { plugin: string; "resource-path": string[]; query: Record<string, string> },
  ): Promise<ResourceDecision>;
}

/** Creates the policy over `kv`, seeding the default if none is stored. */
export async function createResourcePolicy(
  kv: KeyValueStore,
  engine: PolicyEngine,
  initial = RESOURCE_POLICY_DEFAULT,
): Promise<ResourcePolicy> {
  await kv.put(NAMESPACE, KEY, new TextEncoder().encode(initial), { overwrite: false });
  let cached: { text: string; prepared: PreparedPolicy } | undefined;
  let lastRead: { bytes: Buffer; text: string } | undefined;
  const compile = (text: string): PreparedPolicy => {
    if (cached?.text === text) return cached.prepared;
    try {
      const prepared = engine.prepare(text);
      cached = { text, prepared };
      return prepared;
    } catch (err) {
      throw new KbsServerError(
        "ERR_KBS_POLICY_ENGINE",
        `Policy engine error: ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  return {
    async set(text) {
      compile(text);
      await kv.put(NAMESPACE, KEY, new TextEncoder().encode(text));
    },
    async ids() {
      return (await kv.list(NAMESPACE))
        .filter((k) => k.endsWith(".rego"))
        .map((k) => k.slice(0, -5));
    },
    async evaluate(claims, data) {
      // Read every time: another replica may have changed it (the compiled form is cached).
      let raw: Uint8Array | undefined;
      try {
        raw = await kv.get(NAMESPACE, KEY);
      } catch (err) {
        // The store is down (a PostgreSQL restart): a refusal naming it, not an internal error.
        throw new KbsServerError(
          "ERR_KBS_POLICY_ENGINE",
          `Policy engine error: resource policy storage failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
      // The text of the bytes read last is kept: the same bytes are not decoded again.
      let text: string;
      if (raw === undefined) text = initial;
      else if (lastRead?.bytes.equals(raw)) text = lastRead.text;
      else {
        text = Buffer.from(raw).toString("utf8");
        lastRead = { bytes: Buffer.from(raw), text };
      }
      let out: Record<string, unknown>;
      try {
        out = compile(text).evaluate(claims, data, ["allow"]);
      } catch (err) {
        if (err instanceof KbsServerError) throw err;
        throw new KbsServerError(
          "ERR_KBS_POLICY_ENGINE",
          `Policy engine error: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (out.allow === true) return { allow: true };
      return {
        allow: false,
        reason:
          out.allow === undefined
            ? "data.policy.allow is undefined"
            : `data.policy.allow is ${JSON.stringify(out.allow)}`,
      };
    },
  };
}
