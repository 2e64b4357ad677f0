/** Confidential Data Hub: resources, sealed secrets, keyprovider unwrap, secure mount. */
export {
  AA_SOCKET,
  CDH_BASE_DIR,
  CDH_SOCKET,
  type CdhConfig,
  type CredentialSpec,
  cdhConfigFromKbcParams,
  loadCdhConfig,
  parseCdhConfig,
} from "./config.js";
export { assertCredentialPath, provisionCredentials, writeSecretFile } from "./credentials.js";
export { CdhError, type CdhErrorCode } from "./errors.js";
export { type CdhOptions, type ConfidentialDataHub, createConfidentialDataHub } from "./hub.js";
export { type CcKbc, type CcKbcOptions, createCcKbc } from "./kbc/cc-kbc.js";
export { createOfflineFsKbc, OFFLINE_FS_KBC_FILES } from "./kbc/offline-fs.js";
export type { ResourceGetter } from "./kbc/types.js";
export {
  type AnnotationPacket,
  handleUnwrapKey,
  parseAnnotationPacket,
  unwrapAnnotationPacket,
} from "./keyprovider/unwrap.js";
export { IMAGE_PULL_EVENT, imagePullContent, recordImagePull } from "./measure.js";
export { aesDecrypt, aesGcmEncrypt } from "./secret/aes.js";
export { SEALED_SECRET_KEY_DIR, unsealSecret } from "./secret/unseal.js";
export { registerCdhService } from "./service.js";
export { type SecureMountRequest, secureMount } from "./storage/secure-mount.js";

import { parseResourceUri } from "../../protocol/resource-uri/index.js";
import type { ResourceGetter } from "./kbc/types.js";
import { parseAnnotationPacket, unwrapAnnotationPacket } from "./keyprovider/unwrap.js";

/** Gets a resource by its `kbs://` URI text through `getter` (for the image client). */
export function getResourceByUri(getter: ResourceGetter, uri: string): Promise<Uint8Array> {
  return getter.getResource(parseResourceUri(uri));
}

/**
 * Unwraps the layer key named by an ocicrypt `provider.attestation-agent` annotation value
 * (std base64 of an AnnotationPacket JSON) via Trustee (for image decryption in-process).
 */
export function unwrapKeyProviderAnnotation(
  getter: ResourceGetter,
  annotationB64: string,
): Promise<Uint8Array> {
  return unwrapAnnotationPacket(
    parseAnnotationPacket(Buffer.from(annotationB64, "base64")),
    getter,
  );
}
