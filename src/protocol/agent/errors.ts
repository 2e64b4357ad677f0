import { CocoError } from "../../errors.js";

/** Codes for failures while decoding or encoding agent API messages. */
export type AgentProtocolErrorCode =
  | "ERR_AGENT_PROTO_UNKNOWN_METHOD"
  | "ERR_AGENT_PROTO_DECODE"
  | "ERR_AGENT_PROTO_ENCODE"
  | "ERR_AGENT_PROTO_TOO_LARGE";

/** A malformed, oversized or unknown agent API message. */
export class AgentProtocolError extends CocoError<AgentProtocolErrorCode> {}
