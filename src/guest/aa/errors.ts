import { CocoError } from "../../errors.js";

/** Codes for Attestation Agent and KBS client failures. */
export type AaErrorCode =
  | "ERR_AA_CONFIG"
  | "ERR_AA_ATTESTER"
  | "ERR_AA_REPORT_DATA"
  | "ERR_AA_UNSUPPORTED"
  | "ERR_AA_INITDATA_MISMATCH"
  | "ERR_AA_TOKEN_TYPE"
  | "ERR_AA_EVENTLOG"
  | "ERR_AA_TSM"
  | "ERR_AA_TPM"
  | "ERR_KBS_CLIENT_HTTP"
  | "ERR_KBS_CLIENT_UNREACHABLE"
  | "ERR_KBS_CLIENT_UNAUTHORIZED"
  | "ERR_KBS_CLIENT_NOT_FOUND"
  | "ERR_KBS_CLIENT_RESPONSE"
  | "ERR_KBS_CLIENT_TOKEN";

/** An AA failure. Messages never carry tokens, keys or evidence. */
export class AaError extends CocoError<AaErrorCode> {}
