/**
 * The remote hypervisor service (`hypervisor.Hypervisor`, kata `remote.proto`) the runtime calls
 * on the peer-pods adaptor, generated from `src/protocol/proto/kata/remote.proto`.
 */
import {
  type CreateVMRequest,
  CreateVMRequestSchema,
  CreateVMResponseSchema,
  Hypervisor,
  StartVMRequestSchema,
  StartVMResponseSchema,
  StopVMRequestSchema,
  StopVMResponseSchema,
  VersionRequestSchema,
  VersionResponseSchema,
} from "../proto/kata/remote_pb.js";
import { messageCodec } from "../ttrpc/proto.js";

export type { CreateVMRequest };
export { Hypervisor };

/** The ttrpc service name. */
export const HYPERVISOR_SERVICE = Hypervisor.typeName;

/** Codecs for every message of the service. */
export const HypervisorMessages = {
  CreateVMRequest: messageCodec(CreateVMRequestSchema),
  CreateVMResponse: messageCodec(CreateVMResponseSchema),
  StartVMRequest: messageCodec(StartVMRequestSchema),
  StartVMResponse: messageCodec(StartVMResponseSchema),
  StopVMRequest: messageCodec(StopVMRequestSchema),
  StopVMResponse: messageCodec(StopVMResponseSchema),
  VersionRequest: messageCodec(VersionRequestSchema),
  VersionResponse: messageCodec(VersionResponseSchema),
} as const;
