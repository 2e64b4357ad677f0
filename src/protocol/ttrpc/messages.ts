/**
 * The ttrpc envelope messages (containerd/ttrpc `request.proto`) and google.rpc.Status, byte
 * compatible with ttrpc-rust and containerd/ttrpc.
 */
import { buildProtoFile, messageCodec } from "./proto.js";

const statusFile = buildProtoFile({
  name: "google/rpc/status.proto",
  package: "google.rpc",
  dependencies: ["google/protobuf/any.proto"],
  messages: {
    Status: [
      { name: "code", number: 1, kind: "int32" },
      { name: "message", number: 2, kind: "string" },
      { name: "details", number: 3, kind: { message: ".google.protobuf.Any" }, repeated: true },
    ],
  },
});

const ttrpcFile = buildProtoFile(
  {
    name: "github.com/containerd/ttrpc/request.proto",
    package: "ttrpc",
    dependencies: ["google/rpc/status.proto"],
    messages: {
      Request: [
        { name: "service", number: 1, kind: "string" },
        { name: "method", number: 2, kind: "string" },
        { name: "payload", number: 3, kind: "bytes" },
        { name: "timeout_nano", number: 4, kind: "int64" },
        { name: "metadata", number: 5, kind: { message: "KeyValue" }, repeated: true },
      ],
      Response: [
        { name: "status", number: 1, kind: { message: ".google.rpc.Status" } },
        { name: "payload", number: 2, kind: "bytes" },
      ],
      KeyValue: [
        { name: "key", number: 1, kind: "string" },
        { name: "value", number: 2, kind: "string" },
      ],
    },
  },
  [statusFile],
);

/** google.rpc.Status (details are carried but not interpreted). */
export interface RpcStatus {
  code: number;
  message: string;
}

/** ttrpc.Request. */
export interface TtrpcRequest {
  service: string;
  method: string;
  payload: Uint8Array;
  timeoutNano: bigint;
  metadata: { key: string; value: string }[];
}

/** ttrpc.Response. */
export interface TtrpcResponse {
  status?: RpcStatus;
  payload: Uint8Array;
}

/** Codec for ttrpc.Request. */
export const RequestCodec = messageCodec<TtrpcRequest>(ttrpcFile, "ttrpc.Request");
/** Codec for ttrpc.Response. */
export const ResponseCodec = messageCodec<TtrpcResponse>(ttrpcFile, "ttrpc.Response");
