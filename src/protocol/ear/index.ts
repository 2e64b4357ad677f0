/** EAR attestation-result claims (Trustee profile). */
export {
  EAR_PROFILE,
  type EarClaims,
  EarError,
  type EarErrorCode,
  type EarStatus,
  type EarSubmod,
  parseEarClaims,
  statusOf,
  TRUST_CLAIM_NAMES,
  type TrustClaimName,
  type TrustVector,
  tierOf,
} from "./claims.js";
