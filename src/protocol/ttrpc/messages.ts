/**
 * The ttrpc envelope messages (containerd/ttrpc `request.proto`) and google.rpc.Status, byte
 * compatible with ttrpc-rust and containerd/ttrpc. Generated from `src/protocol/proto/ttrpc`.
 */
import type { Status } from "../proto/google/rpc/status_pb.js";
import {
  type Request,
  RequestSchema,
  type Response,
  ResponseSchema,
} from "../proto/ttrpc/request_pb.js";
import { messageCodec } from "./proto.js";

/** google.rpc.Status (details are carried but not interpreted). */
export type RpcStatus = Pick<Status, "code" | "message">;

/** ttrpc.Request as decoded. */
export type TtrpcRequest = Request;

/** ttrpc.Response as decoded. */
export type TtrpcResponse = Response;

/** Codec for ttrpc.Request. */
export const RequestCodec = messageCodec(RequestSchema);
/** Codec for ttrpc.Response. */
export const ResponseCodec = messageCodec(ResponseSchema);
