export {
  type AgentMessage,
  copyFileType,
  decodeAgentMessage,
  encodeAgentMessage,
  type Json,
  MAX_AGENT_MESSAGE,
  toKataJson,
  toPolicyInput,
} from "./codec.js";
export { AgentProtocolError, type AgentProtocolErrorCode } from "./errors.js";
export {
  buildInitDataDisk,
  decodeInitDataAnnotation,
  encodeInitDataAnnotation,
  INITDATA_DISK_MAGIC,
  MAX_INITDATA_TOML,
  parseInitDataDisk,
} from "./initdata-transport.js";
export {
  AGENT_METHODS,
  AGENT_SERVICE,
  HEALTH_METHODS,
  HEALTH_SERVICE,
  type MethodSpec,
} from "./methods.js";
export { agentMessage, agentRegistry } from "./registry.js";
export type * from "./types.js";
