/**
 * The protocol 0.4.0 runtime-data binding: the evidence's report data is the digest of the RFC
 * 8785 canonical JSON of `{"nonce","tee-pubkey","additional-evidence"}` (primary evidence) or
 * `{"nonce","tee-pubkey"}` (device evidence), with the negotiated hash algorithm.
 */
import {
  HASH_ALGORITHMS,
  type HashAlgorithm,
  isHashAlgorithm,
  parseHashAlgorithm,
} from "../../crypto/digest.js";
import { canonicalJsonDigest } from "../../crypto/jcs.js";
import type { TeePublicJwk } from "../../crypto/jwe.js";
import { KbsProtocolError } from "./errors.js";

/** Hash algorithm used when the challenge does not select one (guest-components default). */
export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = "sha384";

/** The structured runtime data of the primary evidence, as the AS sees it. */
export function primaryRuntimeData(
  nonce: string,
  teePubkey: TeePublicJwk,
  additionalEvidence: string,
): Record<string, unknown> {
  return { "tee-pubkey": teePubkey, nonce, "additional-evidence": additionalEvidence };
}

/** The structured runtime data of device (additional) evidence. */
export function deviceRuntimeData(nonce: string, teePubkey: TeePublicJwk): Record<string, unknown> {
  return { "tee-pubkey": teePubkey, nonce };
}

/** Digest of structured runtime data, i.e. the expected report data before TEE padding. */
export function runtimeDataDigest(alg: HashAlgorithm, runtimeData: unknown): Uint8Array {
  return canonicalJsonDigest(alg, runtimeData);
}

/**
 * Server side of hash negotiation. Upstream ignores the client's list and uses sha384 with
 * `extra-params: ""`; we do the same whenever the client supports sha384 (or sends no list), so
 * upstream clients see identical bytes. A client that lists only other algorithms gets the
 * first of `preference` it supports, announced as `{"selected-hash-algorithm": ...}`.
 */
export function selectHashAlgorithm(
  requestExtraParams: unknown,
  preference: readonly HashAlgorithm[] = ["sha384", "sha512", "sha256", "sm3"],
): { algorithm: HashAlgorithm; extraParams: unknown } {
  let supported: HashAlgorithm[] | undefined;
  if (typeof requestExtraParams === "object" && requestExtraParams !== null) {
    const list = (requestExtraParams as Record<string, unknown>)["supported-hash-algorithms"];
    if (list !== undefined) {
      if (!Array.isArray(list) || list.length > 16) {
        throw new KbsProtocolError(
          "ERR_KBS_FIELD",
          "extra-params.supported-hash-algorithms must be an array of at most 16 names",
        );
      }
      supported = list
        .map((s) => (typeof s === "string" ? s.toLowerCase() : ""))
        .filter(isHashAlgorithm);
      if (list.length > 0 && supported.length === 0) {
        throw new KbsProtocolError(
          "ERR_KBS_FIELD",
          `extra-params.supported-hash-algorithms names none of ${HASH_ALGORITHMS.join(", ")}`,
        );
      }
    }
  }
  if (supported === undefined || supported.length === 0) {
    return { algorithm: DEFAULT_HASH_ALGORITHM, extraParams: "" };
  }
  const chosen = preference.find((a) => supported.includes(a));
  if (chosen === undefined) {
    throw new KbsProtocolError(
      "ERR_KBS_FIELD",
      "no hash algorithm in extra-params.supported-hash-algorithms is enabled on this server",
    );
  }
  if (chosen === DEFAULT_HASH_ALGORITHM) return { algorithm: chosen, extraParams: "" };
  return { algorithm: chosen, extraParams: { "selected-hash-algorithm": chosen } };
}

/** Client side: the hash algorithm a challenge's `extra-params` selects (default sha384). */
export function hashAlgorithmFromChallenge(extraParams: unknown): HashAlgorithm {
  if (typeof extraParams !== "object" || extraParams === null) return DEFAULT_HASH_ALGORITHM;
  const sel = (extraParams as Record<string, unknown>)["selected-hash-algorithm"];
  if (sel === undefined) return DEFAULT_HASH_ALGORITHM;
  return parseHashAlgorithm(sel);
}
