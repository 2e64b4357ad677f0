/** Confidential images: references, registries, layouts, ocicrypt, signatures, unpack, pull. */
export { resolveUser, runtimeSpec } from "./bundle.js";
export { type ImageDestination, openImageDestination } from "./destination.js";
export {
  createDigestVerifier,
  type Digest,
  formatDigest,
  parseDigest,
  sha256Digest,
} from "./digest.js";
export { type EncryptRecipients, encryptImage, encryptLayer } from "./encrypt.js";
export { OciError, type OciErrorCode } from "./errors.js";
export { kidResourcePath, normalizeKid, storeKeyInTrustee } from "./kbs-admin.js";
export {
  type GetResource,
  parseAnnotationPacket,
  unwrapAnnotationPacket,
  wrapAnnotationPacket,
} from "./layer/kbs-annotation.js";
export {
  type DecryptionKeys,
  loadPrivateKey,
  loadPublicKey,
  type ProviderUnwrap,
  unwrapLayerKey,
  wrapJwe,
} from "./layer/keys.js";
export { LayerDecryptor, LayerEncryptor } from "./layer/ocicrypt.js";
export { type ApplyLayerResult, applyLayer } from "./layer/pipeline.js";
export {
  type Descriptor,
  hostPlatform,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
  parseImageConfig,
  parseManifestOrIndex,
  selectPlatform,
} from "./manifest.js";
export { MediaType } from "./media-types.js";
export {
  acceptAnything,
  type ImageVerifier,
  type PullOptions,
  type PullProgress,
  type PullResult,
  pullImage,
  type ResolvedImage,
  resolveImage,
} from "./pull.js";
export { pullWithTasks, type TaskPullOptions } from "./pull-tasks.js";
export {
  formatReference,
  type ImageReference,
  parseReference,
  referenceName,
} from "./reference.js";
export {
  type PullTask,
  parseRegistriesConf,
  pullTasks,
  type RegistriesConf,
} from "./registries-conf.js";
export {
  type AuthFile,
  type Credentials,
  lookupCredentials,
  parseAuthFile,
} from "./registry/auth.js";
export { createRegistryClient, type RegistryClient } from "./registry/client.js";
export {
  buildRuntimeSpec,
  DEFAULT_CAPS,
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultMounts,
  type RuntimeMount,
  type RuntimeSpec,
  type RuntimeSpecParts,
} from "./runtime-spec.js";
export {
  attachCosignSignature,
  fetchCosignSignatures,
  loadCosignPrivateKey,
  loadCosignPublicKey,
} from "./signature/cosign.js";
export { evaluatePolicy, type PolicyContext, type PolicyDecision } from "./signature/evaluate.js";
export { signToLookaside } from "./signature/gpg-sign.js";
export { loadRegistriesD, mergeRegistriesD, type RegistriesD } from "./signature/lookaside.js";
export { type Policy, parsePolicy } from "./signature/policy.js";
export { createKeyReader, createPolicyVerifier } from "./signature/verifier.js";
export { createLayoutSource, createRegistrySource, type ImageSource } from "./source.js";
export { type BlobStore, createBlobStore } from "./store.js";
export {
  type ImageLocation,
  openImageSource,
  parseImageLocation,
  type RegistryOptions,
  registryClientFor,
} from "./transport.js";
export { defaultUnpackRules, type UnpackRules } from "./unpack/rules.js";
