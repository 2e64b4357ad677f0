/** Thin wrappers over node:crypto and jose used across trust boundaries. */
export { constantTimeEqual, constantTimeEqualString } from "./compare.js";
export {
  digest,
  HASH_ALGORITHMS,
  HASH_LENGTH,
  type HashAlgorithm,
  isHashAlgorithm,
  parseHashAlgorithm,
} from "./digest.js";
export { type DsseEnvelope, type VerifiedDsse, verifyDsseEnvelope } from "./dsse.js";
export { CryptoError, type CryptoErrorCode } from "./errors.js";
export { canonicalJson, canonicalJsonDigest } from "./jcs.js";
export {
  AES_KW_IV,
  aes256GcmEncrypt,
  aes256KeyWrap,
  concatKdfA256kw,
  createEs256Signer,
  encryptJweSync,
} from "./jose-sync.js";
export {
  createTeeKeyEncryptor,
  decryptWithTeeKey,
  encryptForTeeKey,
  encryptForTeeKeySync,
  type FlattenedJwe,
  generateTeeKeyPair,
  importTeePublicKey,
  type TeeEcJwk,
  type TeeKeyKind,
  type TeePublicJwk,
  type TeeRsaJwk,
} from "./jwe.js";
