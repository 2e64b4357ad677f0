import { KbsProtocolError } from "./errors.js";

/** `type` URIs upstream KBS emits are this prefix plus the Rust error variant name. */
export const ERROR_TYPE_PREFIX = "https://github.com/confidential-containers/kbs/errors/";

/** Error variants of upstream KBS (kbs/src/error.rs) that a client can receive. */
export const KBS_ERROR_TYPES = [
  "AttestationError",
  "AdminAuthAccess",
  "AdminAuthInitialization",
  "PluginNotFound",
  "InvalidRequestPath",
  "PluginInternalError",
  "TokenNotFound",
  "TokenVerifierError",
  "PolicyDeny",
  "PolicyEngineError",
  "ParsePolicyError",
  "JweError",
  "RvpsError",
  "SerdeError",
  "PayloadTooLarge",
] as const;

/** One of {@link KBS_ERROR_TYPES}. */
export type KbsErrorType = (typeof KBS_ERROR_TYPES)[number];

/** Upstream `ErrorInformation` JSON. */
export interface ErrorInformation {
  type: string;
  detail: string;
}

/** Builds an ErrorInformation body for `type`. */
export function toErrorInformation(type: KbsErrorType, detail: string): ErrorInformation {
  return { type: `${ERROR_TYPE_PREFIX}${type}`, detail };
}

/**
 * The HTTP status upstream uses for each error variant: 404 for unknown plugin / invalid path,
 * 413 for an oversized body (actix), 401 for everything else (including policy denial).
 */
export function statusForErrorType(type: KbsErrorType): number {
  if (type === "PluginNotFound" || type === "InvalidRequestPath") return 404;
  if (type === "PayloadTooLarge") return 413;
  return 401;
}

/** The variant name of an ErrorInformation `type` URI, or undefined for a foreign URI. */
export function errorTypeName(info: ErrorInformation): string | undefined {
  return info.type.startsWith(ERROR_TYPE_PREFIX)
    ? info.type.slice(ERROR_TYPE_PREFIX.length)
    : undefined;
}

/** Parses an ErrorInformation body (client side); anything else is ERR_KBS_FIELD. */
export function parseErrorInformation(value: unknown): ErrorInformation {
  if (
    typeof value !== "object" ||
    value === null ||
    typeof (value as ErrorInformation).type !== "string" ||
    typeof (value as ErrorInformation).detail !== "string"
  ) {
    throw new KbsProtocolError("ERR_KBS_FIELD", "ErrorInformation needs string type and detail");
  }
  const v = value as ErrorInformation;
  return { type: v.type, detail: v.detail };
}
