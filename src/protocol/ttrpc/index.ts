export { socketPathOf } from "./address.js";
export {
  AA_SERVICE,
  AaMessages,
  type ExtendRuntimeMeasurementRequest,
  RuntimeMeasurementResult,
} from "./api/attestation-agent.js";
export {
  CDH_SERVICES,
  CdhMessages,
  type SecureMountRequest,
} from "./api/cdh.js";
export { KEYPROVIDER_SERVICE, KeyProviderMessages } from "./api/keyprovider.js";
export { type CallOptions, TtrpcClient } from "./client.js";
export { GrpcCode, TtrpcError, type TtrpcErrorCode } from "./errors.js";
export { failingAs, failureMessage, type TypedHandler } from "./failure.js";
export {
  encodeFrame,
  type Frame,
  FrameDecoder,
  FrameType,
  HEADER_LENGTH,
  MAX_PAYLOAD,
  parseFrame,
} from "./frame.js";
export { RequestCodec, ResponseCodec, type TtrpcRequest, type TtrpcResponse } from "./messages.js";
export type { MessageCodec } from "./proto.js";
export {
  type CallContext,
  type RawHandler,
  StatusError,
  TtrpcServer,
  type TtrpcServerOptions,
} from "./server.js";
