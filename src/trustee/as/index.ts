/** The Attestation Service: verifiers, policy appraisal, EAR tokens. */
export { toSubmod, toTrustVector } from "./appraisal.js";
export { AttestationServiceError, type AttestationServiceErrorCode } from "./errors.js";
export { type InitDataResult, MAX_INIT_DATA_BYTES, processInitDataToml } from "./init-data.js";
export {
  DEFAULT_CPU_POLICY,
  DEFAULT_GPU_POLICY,
  RESOURCE_POLICY_AFFIRMING,
  RESOURCE_POLICY_AFFIRMING_GPU,
  RESOURCE_POLICY_ALLOW_ALL,
  RESOURCE_POLICY_DEFAULT,
  RESOURCE_POLICY_DENY_ALL,
} from "./policy/default-policies.js";
export type { HostFunction, PolicyEngine, PreparedPolicy } from "./policy/engine.js";
export { type AttestationPolicyStore, createAttestationPolicyStore } from "./policy/store.js";
export {
  type AttestationResult,
  type AttestationService,
  type AttestationServiceDeps,
  createAttestationService,
  type InitData,
  type RuntimeData,
  type VerificationRequest,
} from "./service.js";
export {
  createEarBroker,
  type EarBroker,
  type EarBrokerConfig,
  type SignedEar,
} from "./token/ear-broker.js";
export { createSampleVerifier } from "./verifier/sample/verifier.js";
export {
  regularizeReportData,
  type TeeClass,
  type Verifier,
  VerifierError,
  type VerifierErrorCode,
  type VerifierInput,
  type VerifierResult,
} from "./verifier/types.js";
