import { CocoError } from "../errors.js";

/** Codes for failures in the crypto wrappers. */
export type CryptoErrorCode =
  | "ERR_CRYPTO_HASH_ALG"
  | "ERR_CRYPTO_JCS"
  | "ERR_CRYPTO_TEE_KEY"
  | "ERR_CRYPTO_JWE_FORMAT"
  | "ERR_CRYPTO_JWE_DECRYPT"
  | "ERR_CRYPTO_JWE_ENCRYPT"
  | "ERR_CRYPTO_DSSE"
  | "ERR_CRYPTO_CBOR"
  | "ERR_CRYPTO_COSE";

/** A failure in one of the thin crypto wrappers (never carries key material in its message). */
export class CryptoError extends CocoError<CryptoErrorCode> {}
