/**
 * Attestation policies by id (`default_cpu`, `default_gpu`, user ids), stored in the
 * `attestation_service_policy` namespace as `<id>.rego`, falling back to the built-in defaults.
 * Compiled policies are cached by their text.
 */
import type { KeyValueStore } from "../../storage/types.js";
import { AttestationServiceError } from "../errors.js";
import { DEFAULT_CPU_POLICY, DEFAULT_GPU_POLICY } from "./default-policies.js";
import type { PolicyEngine, PreparedPolicy } from "./engine.js";

const NAMESPACE = "attestation_service_policy";
const ID = /^[A-Za-z0-9_-]{1,128}$/;
const BUILT_IN: Readonly<Record<string, string>> = {
  default_cpu: DEFAULT_CPU_POLICY,
  default_gpu: DEFAULT_GPU_POLICY,
};

/** Host functions attestation policies may call. */
export const AS_HOST_FUNCTIONS = [{ name: "query_reference_value", arity: 1 }] as const;

/** Largest policy text accepted. */
export const MAX_POLICY_BYTES = 512 * 1024;

/** The attestation policy store. */
export interface AttestationPolicyStore {
  set(id: string, text: string): Promise<void>;
  get(id: string): Promise<string>;
  list(): Promise<string[]>;
  prepared(id: string): Promise<PreparedPolicy>;
}

function checkId(id: string): void {
  if (!ID.test(id)) {
    throw new AttestationServiceError(
      "ERR_AS_POLICY",
      `policy id ${JSON.stringify(id.slice(0, 64))} must match [A-Za-z0-9_-]+`,
    );
  }
}

/** Creates the store over `kv`, compiling with `engine`. */
export function createAttestationPolicyStore(
  kv: KeyValueStore,
  engine: PolicyEngine,
): AttestationPolicyStore {
  const cache = new Map<string, PreparedPolicy>();
  const compile = (text: string): PreparedPolicy => {
    const hit = cache.get(text);
    if (hit !== undefined) return hit;
    let p: PreparedPolicy;
    try {
      p = engine.prepare(text, AS_HOST_FUNCTIONS);
    } catch (err) {
      throw new AttestationServiceError(
        "ERR_AS_POLICY",
        `policy does not compile: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (cache.size > 64) cache.clear();
    cache.set(text, p);
    return p;
  };
  const get = async (id: string): Promise<string> => {
    checkId(id);
    const raw = await kv.get(NAMESPACE, `${id}.rego`);
    if (raw !== undefined) return Buffer.from(raw).toString("utf8");
    const builtIn = Object.hasOwn(BUILT_IN, id) ? BUILT_IN[id] : undefined;
    if (builtIn !== undefined) return builtIn;
    throw new AttestationServiceError(
      "ERR_AS_POLICY_NOT_FOUND",
      `attestation policy ${JSON.stringify(id)} does not exist`,
    );
  };
  return {
    async set(id, text) {
      checkId(id);
      if (Buffer.byteLength(text) > MAX_POLICY_BYTES) {
        throw new AttestationServiceError(
          "ERR_AS_POLICY",
          `policy is larger than ${MAX_POLICY_BYTES} bytes`,
        );
      }
      compile(text);
      await kv.put(NAMESPACE, `${id}.rego`, new TextEncoder().encode(text));
    },
    get,
    async list() {
      const stored = (await kv.list(NAMESPACE))
        .filter((k) => k.endsWith(".rego"))
        .map((k) => k.slice(0, -5));
      return [...new Set([...Object.keys(BUILT_IN), ...stored])].sort();
    },
    async prepared(id) {
      return compile(await get(id));
    },
  };
}
