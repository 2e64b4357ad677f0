import { CocoError } from "../errors.js";

/** Every failure code of the confidential-images library (`src/oci`). */
export type OciErrorCode =
  | "ERR_OCI_REFERENCE"
  | "ERR_OCI_DIGEST"
  | "ERR_OCI_DIGEST_MISMATCH"
  | "ERR_OCI_MANIFEST"
  | "ERR_OCI_MEDIA_TYPE"
  | "ERR_OCI_PLATFORM"
  | "ERR_OCI_TOO_LARGE"
  | "ERR_OCI_HTTP"
  | "ERR_OCI_TIMEOUT"
  | "ERR_OCI_NOT_FOUND"
  | "ERR_OCI_AUTH"
  | "ERR_OCI_AUTH_CONFIG"
  | "ERR_OCI_REGISTRY_CONFIG"
  | "ERR_OCI_BLOCKED"
  | "ERR_OCI_LAYOUT"
  | "ERR_OCI_DECRYPT"
  | "ERR_OCI_DECRYPT_KEY"
  | "ERR_OCI_HMAC"
  | "ERR_OCI_ENCRYPT"
  | "ERR_OCI_DECOMPRESS"
  | "ERR_OCI_TAR"
  | "ERR_OCI_UNPACK_ESCAPE"
  | "ERR_OCI_UNPACK_FORBIDDEN"
  | "ERR_OCI_UNPACK_LIMIT"
  | "ERR_OCI_UNPACK"
  | "ERR_OCI_CONFIG"
  | "ERR_OCI_POLICY"
  | "ERR_OCI_POLICY_DENIED"
  | "ERR_OCI_SIGNATURE"
  | "ERR_OCI_SIGSTORE_CONFIG"
  | "ERR_OCI_RESOURCE"
  | "ERR_OCI_NOT_IMPLEMENTED";

/** A coded error from the confidential-images library. */
export class OciError extends CocoError<OciErrorCode> {}
