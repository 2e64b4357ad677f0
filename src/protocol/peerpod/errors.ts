import { CocoError } from "../../errors.js";

/** Codes for malformed peer-pod wire data (user-data, forwarder config, adaptor requests). */
export type PeerPodProtocolErrorCode =
  | "ERR_PEERPOD_USER_DATA"
  | "ERR_PEERPOD_APF_CONFIG"
  | "ERR_PEERPOD_REQUEST";

/** Malformed, oversized or disallowed peer-pod data; the message names the field. */
export class PeerPodProtocolError extends CocoError<PeerPodProtocolErrorCode> {}
