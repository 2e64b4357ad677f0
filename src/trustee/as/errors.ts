import { CocoError } from "../../errors.js";

/** Codes for Attestation Service failures. */
export type AttestationServiceErrorCode =
  | "ERR_AS_INIT_DATA"
  | "ERR_AS_UNSUPPORTED_TEE"
  | "ERR_AS_POLICY_NOT_FOUND"
  | "ERR_AS_POLICY"
  | "ERR_AS_TRUST_CLAIMS"
  | "ERR_AS_TOKEN"
  | "ERR_AS_REQUEST";

/** An Attestation Service failure; the message names the rule or field, never evidence bytes. */
export class AttestationServiceError extends CocoError<AttestationServiceErrorCode> {}
