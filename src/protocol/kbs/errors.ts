import { CocoError } from "../../errors.js";

/** Codes for malformed KBS protocol messages. */
export type KbsProtocolErrorCode =
  | "ERR_KBS_JSON"
  | "ERR_KBS_FIELD"
  | "ERR_KBS_VERSION"
  | "ERR_KBS_TEE"
  | "ERR_KBS_TOO_LARGE"
  | "ERR_KBS_PATH"
  | "ERR_KBS_RESOURCE_PATH"
  | "ERR_KBS_LIMIT";

/** A KBS protocol message that does not parse; the message names the field, never its value. */
export class KbsProtocolError extends CocoError<KbsProtocolErrorCode> {}
