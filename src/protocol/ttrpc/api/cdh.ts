/**
 * `api` services of the Confidential Data Hub (guest-components confidential-data-hub api.proto),
 * generated from `src/protocol/proto/guest-components/confidential-data-hub.proto`.
 */
import {
  GetResourceRequestSchema,
  GetResourceResponseSchema,
  GetResourceService,
  ImagePullRequestSchema,
  ImagePullResponseSchema,
  ImagePullService,
  SealedSecretService,
  type SecureMountRequest,
  SecureMountRequestSchema,
  SecureMountResponseSchema,
  SecureMountService,
  UnsealSecretInputSchema,
  UnsealSecretOutputSchema,
} from "../../proto/guest-components/confidential-data-hub_pb.js";
import { messageCodec } from "../proto.js";

export type { SecureMountRequest };

/** Service names of the CDH ttrpc server. */
export const CDH_SERVICES = {
  sealedSecret: SealedSecretService.typeName,
  getResource: GetResourceService.typeName,
  secureMount: SecureMountService.typeName,
  imagePull: ImagePullService.typeName,
} as const;

/** Codecs for every CDH message. */
export const CdhMessages = {
  UnsealSecretInput: messageCodec(UnsealSecretInputSchema),
  UnsealSecretOutput: messageCodec(UnsealSecretOutputSchema),
  GetResourceRequest: messageCodec(GetResourceRequestSchema),
  GetResourceResponse: messageCodec(GetResourceResponseSchema),
  SecureMountRequest: messageCodec(SecureMountRequestSchema),
  SecureMountResponse: messageCodec(SecureMountResponseSchema),
  ImagePullRequest: messageCodec(ImagePullRequestSchema),
  ImagePullResponse: messageCodec(ImagePullResponseSchema),
} as const;
