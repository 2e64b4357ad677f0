/** `api` protos of the Confidential Data Hub (confidential-data-hub/hub/protos/api.proto). */
import { buildProtoFile, messageCodec } from "../proto.js";

const file = buildProtoFile({
  name: "api.proto",
  package: "api",
  messages: {
    UnsealSecretInput: [{ name: "secret", number: 1, kind: "bytes" }],
    UnsealSecretOutput: [{ name: "plaintext", number: 1, kind: "bytes" }],
    GetResourceRequest: [{ name: "ResourcePath", number: 1, kind: "string" }],
    GetResourceResponse: [{ name: "Resource", number: 1, kind: "bytes" }],
    SecureMountRequest: [
      { name: "volume_type", number: 1, kind: "string" },
      { name: "options", number: 2, kind: "map<string,string>" },
      { name: "flags", number: 3, kind: "string", repeated: true },
      { name: "mount_point", number: 4, kind: "string" },
    ],
    SecureMountResponse: [],
    ImagePullRequest: [
      { name: "image_url", number: 1, kind: "string" },
      { name: "bundle_path", number: 2, kind: "string" },
    ],
    ImagePullResponse: [{ name: "manifest_digest", number: 1, kind: "string" }],
  },
});

/** Service names of the CDH ttrpc server. */
export const CDH_SERVICES = {
  sealedSecret: "api.SealedSecretService",
  getResource: "api.GetResourceService",
  secureMount: "api.SecureMountService",
  imagePull: "api.ImagePullService",
} as const;

/** UnsealSecretInput. */
export interface UnsealSecretInput {
  secret: Uint8Array;
}
/** UnsealSecretOutput. */
export interface UnsealSecretOutput {
  plaintext: Uint8Array;
}
/** GetResourceRequest. */
export interface GetResourceRequest {
  ResourcePath: string;
}
/** GetResourceResponse. */
export interface GetResourceResponse {
  Resource: Uint8Array;
}
/** SecureMountRequest. */
export interface SecureMountRequest {
  volumeType: string;
  options: Record<string, string>;
  flags: string[];
  mountPoint: string;
}
/** ImagePullRequest. */
export interface ImagePullRequest {
  imageUrl: string;
  bundlePath: string;
}
/** ImagePullResponse. */
export interface ImagePullResponse {
  manifestDigest: string;
}
// biome-ignore lint/complexity/noBannedTypes: proto messages without fields
type Empty = {};

/** Codecs for every CDH message. */
export const CdhMessages = {
  UnsealSecretInput: messageCodec<UnsealSecretInput>(file, "api.UnsealSecretInput"),
  UnsealSecretOutput: messageCodec<UnsealSecretOutput>(file, "api.UnsealSecretOutput"),
  GetResourceRequest: messageCodec<GetResourceRequest>(file, "api.GetResourceRequest"),
  GetResourceResponse: messageCodec<GetResourceResponse>(file, "api.GetResourceResponse"),
  SecureMountRequest: messageCodec<SecureMountRequest>(file, "api.SecureMountRequest"),
  SecureMountResponse: messageCodec<Empty>(file, "api.SecureMountResponse"),
  ImagePullRequest: messageCodec<ImagePullRequest>(file, "api.ImagePullRequest"),
  ImagePullResponse: messageCodec<ImagePullResponse>(file, "api.ImagePullResponse"),
} as const;
