import canonicalize from "canonicalize";
import { digest, type HashAlgorithm } from "./digest.js";
import { CryptoError } from "./errors.js";

/**
 * RFC 8785 (JCS) canonical JSON text of `value`, the form upstream hashes for the runtime-data
 * binding (serde_json_canonicalizer). Wraps the `canonicalize` package.
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (err) {
    throw new CryptoError("ERR_CRYPTO_JCS", "value cannot be canonicalized as RFC 8785 JSON", {
      cause: err,
    });
  }
  if (text === undefined) {
    throw new CryptoError("ERR_CRYPTO_JCS", "value has no JSON representation");
  }
  return text;
}

/** Digest of the RFC 8785 canonical JSON of `value` (UTF-8). */
export function canonicalJsonDigest(alg: HashAlgorithm, value: unknown): Uint8Array {
  return digest(alg, canonicalJson(value));
}
