import { CocoError } from "../../errors.js";
import type { KbsErrorType } from "../../protocol/kbs/error-info.js";

/** Codes for KBS request failures; each maps to one upstream ErrorInformation variant. */
export type KbsServerErrorCode =
  | "ERR_KBS_ATTESTATION"
  | "ERR_KBS_ADMIN_ACCESS"
  | "ERR_KBS_ADMIN_PLUGIN"
  | "ERR_KBS_PLUGIN_NOT_FOUND"
  | "ERR_KBS_INVALID_PATH"
  | "ERR_KBS_PLUGIN_INTERNAL"
  | "ERR_KBS_TOKEN_NOT_FOUND"
  | "ERR_KBS_TOKEN_VERIFIER"
  | "ERR_KBS_POLICY_DENY"
  | "ERR_KBS_POLICY_ENGINE"
  | "ERR_KBS_PARSE_POLICY"
  | "ERR_KBS_JWE"
  | "ERR_KBS_RVPS"
  | "ERR_KBS_SERDE"
  | "ERR_KBS_PAYLOAD_TOO_LARGE"
  | "ERR_KBS_CONFIG";

const TYPE_OF: Readonly<Record<KbsServerErrorCode, KbsErrorType>> = {
  ERR_KBS_ATTESTATION: "AttestationError",
  ERR_KBS_ADMIN_ACCESS: "AdminAuthAccess",
  ERR_KBS_ADMIN_PLUGIN: "AdminAuthInitialization",
  ERR_KBS_PLUGIN_NOT_FOUND: "PluginNotFound",
  ERR_KBS_INVALID_PATH: "InvalidRequestPath",
  ERR_KBS_PLUGIN_INTERNAL: "PluginInternalError",
  ERR_KBS_TOKEN_NOT_FOUND: "TokenNotFound",
  ERR_KBS_TOKEN_VERIFIER: "TokenVerifierError",
  ERR_KBS_POLICY_DENY: "PolicyDeny",
  ERR_KBS_POLICY_ENGINE: "PolicyEngineError",
  ERR_KBS_PARSE_POLICY: "ParsePolicyError",
  ERR_KBS_JWE: "JweError",
  ERR_KBS_RVPS: "RvpsError",
  ERR_KBS_SERDE: "SerdeError",
  ERR_KBS_PAYLOAD_TOO_LARGE: "PayloadTooLarge",
  ERR_KBS_CONFIG: "AttestationError",
};

/**
 * A failed KBS request. `message` is the ErrorInformation `detail`: it names the binding or
 * rule that failed and never contains evidence, keys or tokens.
 */
export class KbsServerError extends CocoError<KbsServerErrorCode> {
  /** The upstream ErrorInformation variant. */
  get errorType(): KbsErrorType {
    return TYPE_OF[this.code];
  }
}
