/**
 * EAR (Entity Attestation Result, draft-fv-rats-ear) claims as upstream Trustee's attestation
 * service emits them (rust `ear` 0.5 crate): profile, verifier id, one submod per attested
 * component with a status tier derived from an eight-member trustworthiness vector.
 */
import { CocoError } from "../../errors.js";

/** The `eat_profile` Trustee stamps on every token. */
export const EAR_PROFILE = "tag:github.com,2024:confidential-containers/Trustee";

/** Trustworthiness-vector members, in the order the EAR crate serializes them. */
export const TRUST_CLAIM_NAMES = [
  "instance-identity",
  "configuration",
  "executables",
  "file-system",
  "hardware",
  "runtime-opaque",
  "storage-opaque",
  "sourced-data",
] as const;

/** One of {@link TRUST_CLAIM_NAMES}. */
export type TrustClaimName = (typeof TRUST_CLAIM_NAMES)[number];

/** A trustworthiness vector; absent members are unset. */
export type TrustVector = Partial<Record<TrustClaimName, number>>;

/** The four EAR status tiers. */
export type EarStatus = "none" | "affirming" | "warning" | "contraindicated";

/** The claims of one submod. */
export interface EarSubmod {
  "ear.status": EarStatus;
  "ear.trustworthiness-vector"?: TrustVector;
  "ear.appraisal-policy-id"?: string;
  "ear.veraison.annotated-evidence"?: Record<string, unknown>;
  [extension: string]: unknown;
}

/** The EAR JWT claims set. */
export interface EarClaims {
  eat_profile: string;
  iat: number;
  "ear.verifier-id": { developer: string; build: string };
  submods: Record<string, EarSubmod>;
  exp?: number;
  iss?: string;
  [other: string]: unknown;
}

/** Codes for malformed EAR claims. */
export type EarErrorCode = "ERR_EAR_CLAIMS";

/** EAR claims that do not have the expected shape. */
export class EarError extends CocoError<EarErrorCode> {}

/** The status tier of one trust-claim value (EAR §3.3.1 ranges, as the ear crate maps them). */
export function tierOf(value: number): EarStatus {
  if (value >= -1 && value <= 1) return "none";
  if (value >= -32 && value <= 31) return "affirming";
  if (value >= -96 && value <= 95) return "warning";
  return "contraindicated";
}

const RANK: Readonly<Record<EarStatus, number>> = {
  none: 0,
  affirming: 1,
  warning: 2,
  contraindicated: 3,
};

/** `ear.status` of a vector: the worst tier among its members (`none` when empty). */
export function statusOf(vector: TrustVector): EarStatus {
  let worst: EarStatus = "none";
  for (const name of TRUST_CLAIM_NAMES) {
    const v = vector[name];
    if (v === undefined) continue;
    const t = tierOf(v);
    if (RANK[t] > RANK[worst]) worst = t;
  }
  return worst;
}

/** Parses decoded EAR claims (e.g. a token payload) far enough to read verdicts. */
export function parseEarClaims(value: unknown): EarClaims {
  const bad = (why: string): never => {
    throw new EarError("ERR_EAR_CLAIMS", `EAR claims: ${why}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad("not an object");
  const o = value as Record<string, unknown>;
  if (o.eat_profile !== EAR_PROFILE) bad("eat_profile is not the Trustee profile");
  if (typeof o.iat !== "number") bad("iat must be a number");
  const subs = o.submods;
  if (typeof subs !== "object" || subs === null || Array.isArray(subs)) bad("submods missing");
  for (const [name, sub] of Object.entries(subs as Record<string, unknown>)) {
    const st = (sub as Record<string, unknown> | null)?.["ear.status"];
    // hasOwn, not `in`: "constructor" or "toString" is in every object.
    if (typeof st !== "string" || !Object.hasOwn(RANK, st))
      bad(`submods.${name}.ear.status is not a tier`);
  }
  return o as unknown as EarClaims;
}
