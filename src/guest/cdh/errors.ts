import { CocoError } from "../../errors.js";

/** Codes for Confidential Data Hub failures. */
export type CdhErrorCode =
  | "ERR_CDH_CONFIG"
  | "ERR_CDH_RESOURCE_NOT_FOUND"
  | "ERR_CDH_KBC"
  | "ERR_CDH_SECRET_KEY"
  | "ERR_CDH_KMS_UNSUPPORTED"
  | "ERR_CDH_DECRYPT"
  | "ERR_CDH_KEYPROVIDER"
  | "ERR_CDH_CREDENTIAL_PATH"
  | "ERR_CDH_SECURE_MOUNT"
  | "ERR_CDH_TOOL";

/** A CDH failure; messages never carry secret material. */
export class CdhError extends CocoError<CdhErrorCode> {}
