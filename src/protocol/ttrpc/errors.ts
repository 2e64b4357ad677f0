import { CocoError } from "../../errors.js";

/** Codes for ttrpc framing, message and transport failures. */
export type TtrpcErrorCode =
  | "ERR_TTRPC_FRAME_TOO_LARGE"
  | "ERR_TTRPC_FRAME_TRUNCATED"
  | "ERR_TTRPC_BAD_FRAME"
  | "ERR_TTRPC_BAD_MESSAGE"
  | "ERR_TTRPC_BAD_ADDRESS"
  | "ERR_TTRPC_CONNECT"
  | "ERR_TTRPC_CLOSED"
  | "ERR_TTRPC_TIMEOUT"
  | "ERR_TTRPC_STATUS";

/** A ttrpc failure. For `ERR_TTRPC_STATUS`, `grpcCode` carries the remote status code. */
export class TtrpcError extends CocoError<TtrpcErrorCode> {
  /** The google.rpc.Status code a remote server answered with (0 when not applicable). */
  readonly grpcCode: number;

  constructor(
    code: TtrpcErrorCode,
    message: string,
    options?: { cause?: unknown; grpcCode?: number },
  ) {
    super(code, message, options);
    this.grpcCode = options?.grpcCode ?? 0;
  }
}

/** gRPC status codes used by ttrpc (google.rpc.Code). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
