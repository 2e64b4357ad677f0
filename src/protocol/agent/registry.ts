import type { DescMessage, FileRegistry } from "@bufbuild/protobuf";
import { AGENT_PROTO, HEALTH_PROTO, OCI_PROTO, TYPES_PROTO } from "./proto-files.js";
import { buildRegistry, mustMessage } from "./schema.js";

let cached: FileRegistry | undefined;

/** The registry of every agent API message (package `grpc`), built once on first use. */
export function agentRegistry(): FileRegistry {
  cached ??= buildRegistry([TYPES_PROTO, OCI_PROTO, HEALTH_PROTO, AGENT_PROTO]);
  return cached;
}

/** The descriptor of `grpc.<name>` (or `google.protobuf.Empty`). */
export function agentMessage(name: string): DescMessage {
  return mustMessage(agentRegistry(), name.includes(".") ? name : `grpc.${name}`);
}
