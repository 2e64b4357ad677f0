import { hash } from "node:crypto";
import { CryptoError } from "./errors.js";

/** Hash algorithms the KBS protocol names (kbs-types `HashAlgorithm`, serde lowercase). */
export const HASH_ALGORITHMS = ["sha256", "sha384", "sha512", "sm3"] as const;

/** One of {@link HASH_ALGORITHMS}. */
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** Digest lengths in bytes. */
export const HASH_LENGTH: Readonly<Record<HashAlgorithm, number>> = {
  sha256: 32,
  sha384: 48,
  sha512: 64,
  sm3: 32,
};

/** True when `s` names a supported hash algorithm (exact lowercase spelling). */
export function isHashAlgorithm(s: unknown): s is HashAlgorithm {
  return typeof s === "string" && (HASH_ALGORITHMS as readonly string[]).includes(s);
}

/**
 * Parses a hash algorithm name case-insensitively, as guest-components does for
 * `selected-hash-algorithm`; anything else is ERR_CRYPTO_HASH_ALG.
 */
export function parseHashAlgorithm(s: unknown): HashAlgorithm {
  const lower = typeof s === "string" ? s.toLowerCase() : s;
  if (!isHashAlgorithm(lower)) {
    throw new CryptoError(
      "ERR_CRYPTO_HASH_ALG",
      `unsupported hash algorithm ${JSON.stringify(typeof s === "string" ? s.slice(0, 32) : typeof s)}; expected one of ${HASH_ALGORITHMS.join(", ")}`,
    );
  }
  return lower;
}

/** Digest of `data` with `alg` (node:crypto; sm3 comes from OpenSSL). */
export function digest(alg: HashAlgorithm, data: Uint8Array | string): Uint8Array {
  // One-shot: no Hash object (the runtime-data digest is on every attestation).
  return new Uint8Array(hash(alg, data, "buffer"));
}
