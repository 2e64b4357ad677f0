import { CocoError } from "../../errors.js";

/** Codes for pod-agent failures. */
export type AgentErrorCode =
  | "ERR_AGENT_RUNC"
  | "ERR_AGENT_RUNC_UNAVAILABLE"
  | "ERR_AGENT_SPEC"
  | "ERR_AGENT_NO_SANDBOX"
  | "ERR_AGENT_SANDBOX_EXISTS"
  | "ERR_AGENT_NO_CONTAINER"
  | "ERR_AGENT_CONTAINER_EXISTS"
  | "ERR_AGENT_NO_PROCESS"
  | "ERR_AGENT_BAD_STATE"
  | "ERR_AGENT_EOF"
  | "ERR_AGENT_STORAGE"
  | "ERR_AGENT_MOUNT"
  | "ERR_AGENT_COPY_FILE"
  | "ERR_AGENT_IMAGE_PULL"
  | "ERR_AGENT_UNSEAL"
  | "ERR_AGENT_POLICY"
  | "ERR_AGENT_POLICY_DENIED"
  | "ERR_AGENT_INITDATA"
  | "ERR_AGENT_UNIMPLEMENTED";

/** A pod-agent failure; the ttrpc edge maps `code` to a gRPC status. */
export class AgentError extends CocoError<AgentErrorCode> {}
