/**
 * The one entry to `jose` (panva/jose: JWS, JWT, JWE, JWK) for Trustee and the TEE-key JWE:
 * everything JOSE goes through these re-exports, so the dependency has a single seam.
 */
export {
  CompactSign,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  FlattenedEncrypt,
  flattenedDecrypt,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
