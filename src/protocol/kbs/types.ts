import type { FlattenedJwe, TeePublicJwk } from "../../crypto/jwe.js";

/** The only protocol version upstream Trustee accepts (semver `=0.4.0`). */
export const KBS_PROTOCOL_VERSION = "0.4.0";

/** Every KBS endpoint lives under this prefix. */
export const KBS_PATH_PREFIX = "/kbs/v0";

/** The session cookie upstream Trustee sets. */
export const KBS_SESSION_COOKIE = "kbs-session-id";

/** TEE names as kbs-types serializes them. */
export const TEES = [
  "az-snp-vtpm",
  "az-tdx-vtpm",
  "nvidia",
  "sgx",
  "snp",
  "tdx",
  "cca",
  "csv",
  "se",
  "hygondcu",
  "tpm",
  "sample",
  "sampledevice",
] as const;

/** One of {@link TEES}. */
export type Tee = (typeof TEES)[number];

/** RCAR `Request` (POST /kbs/v0/auth body). */
export interface KbsRequest {
  version: string;
  tee: Tee;
  /** Arbitrary JSON; guest-components sends `{"supported-hash-algorithms":[...]}`. */
  "extra-params": unknown;
}

/** RCAR `Challenge` (the /auth response body). */
export interface KbsChallenge {
  nonce: string;
  /** `""` from upstream CoCo AS, or `{"selected-hash-algorithm": "..."}`. */
  "extra-params": unknown;
}

/** Init-data as carried in the attestation. */
export interface KbsInitData {
  format: string;
  body: string;
}

/** Runtime data the client binds into its evidence. */
export interface KbsRuntimeData {
  nonce: string;
  "tee-pubkey": TeePublicJwk;
}

/** Composite evidence (protocol 0.4.0): snake_case members. */
export interface KbsTeeEvidence {
  primary_evidence: unknown;
  /** JSON text of `{ "<tee>": <evidence>, ... }`, or `""`. */
  additional_evidence: string;
}

/** RCAR `Attestation` (POST /kbs/v0/attest body). */
export interface KbsAttestation {
  "init-data"?: KbsInitData | null;
  "runtime-data": KbsRuntimeData;
  "tee-evidence": KbsTeeEvidence;
}

/** The /attest response body. */
export interface KbsAttestationResponse {
  token: string;
}

/** The resource GET response body: a flattened JWE. */
export type KbsResponse = FlattenedJwe;
