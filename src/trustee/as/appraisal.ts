/**
 * Turns the outputs of an attestation policy (`trust_claims`, `extensions`) into an EAR
 * submod, validating what upstream would crash or silently cast on.
 */
import {
  type EarSubmod,
  statusOf,
  TRUST_CLAIM_NAMES,
  type TrustClaimName,
  type TrustVector,
} from "../../protocol/ear/claims.js";
import { AttestationServiceError } from "./errors.js";

const RESERVED = new Set([
  "ear.status",
  "ear.trustworthiness-vector",
  "ear.appraisal-policy-id",
  "ear.veraison.annotated-evidence",
]);

function fail(policyId: string, why: string): never {
  throw new AttestationServiceError("ERR_AS_TRUST_CLAIMS", `policy ${policyId}: ${why}`);
}

/** Validates `trust_claims` into a vector (undefined rule → all eight claims 0). */
export function toTrustVector(policyId: string, value: unknown): TrustVector {
  if (value === undefined) {
    return Object.fromEntries(TRUST_CLAIM_NAMES.map((n) => [n, 0])) as TrustVector;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(policyId, "trust_claims must be an object of claim name → integer");
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) fail(policyId, "At least one policy claim must be set");
  const vector: TrustVector = {};
  for (const [name, v] of entries) {
    if (!(TRUST_CLAIM_NAMES as readonly string[]).includes(name)) {
      fail(policyId, `trust_claims.${name} is not an EAR trust claim`);
    }
    const n = typeof v === "bigint" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < -128 || n > 127) {
      fail(policyId, `trust_claims.${name} must be an integer in -128..127`);
    }
    vector[name as TrustClaimName] = n;
  }
  // Serialize in the EAR crate's member order.
  const ordered: TrustVector = {};
  for (const name of TRUST_CLAIM_NAMES)
    if (vector[name] !== undefined) ordered[name] = vector[name];
  return ordered;
}

/** Builds one submod from the policy outputs and the annotated evidence. */
export function toSubmod(
  policyId: string,
  appraisalPolicyId: string,
  trustClaims: unknown,
  extensions: unknown,
  annotatedEvidence: Record<string, unknown>,
): EarSubmod {
  const vector = toTrustVector(policyId, trustClaims);
  const submod: EarSubmod = {
    "ear.status": statusOf(vector),
    "ear.trustworthiness-vector": vector,
    "ear.appraisal-policy-id": appraisalPolicyId,
    "ear.veraison.annotated-evidence": annotatedEvidence,
  };
  if (extensions !== undefined) {
    if (!Array.isArray(extensions)) fail(policyId, "extensions must be an array");
    for (const ext of extensions) {
      const e = ext as { name?: unknown; key?: unknown; value?: unknown } | null;
      if (typeof e?.name !== "string" || (typeof e.key !== "number" && typeof e.key !== "bigint")) {
        fail(policyId, "each extension needs a string name and an integer key");
      }
      if (RESERVED.has(e.name as string))
        fail(policyId, `extension ${e.name as string} is reserved`);
      submod[e.name as string] = e.value;
    }
  }
  return submod;
}
