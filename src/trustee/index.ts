/** Trustee: KBS + Attestation Service + RVPS, composed from a config. */

export { createRegoPolicyEngine } from "./as/policy/rego-engine.js";
export {
  defaultTrusteeConfig,
  loadTrusteeConfig,
  parseTrusteeConfig,
  type TrusteeConfig,
  TrusteeConfigError,
} from "./config.js";
export {
  createTrustee,
  type RunningTrustee,
  startTrustee,
  type Trustee,
  type TrusteeDeps,
} from "./trustee.js";
