import { AgentService } from "../proto/kata/agent_pb.js";
import { Health } from "../proto/kata/health_pb.js";

/** The ttrpc service names the agent serves, as upstream spells them. */
export const AGENT_SERVICE = AgentService.typeName;
/** The health service on the same connection (not policy-checked). */
export const HEALTH_SERVICE = Health.typeName;

/**
 * One RPC: its request message name in package `grpc` (the policy entrypoint) and its reply's
 * full name (`google.protobuf.Empty`, `grpc.Routes`, `types.Interface`, ...).
 */
export interface MethodSpec {
  readonly request: string;
  readonly response: string;
}

function methodTable(service: typeof AgentService | typeof Health): Record<string, MethodSpec> {
  const out: Record<string, MethodSpec> = {};
  for (const m of service.methods) {
    out[m.name] = { request: m.input.name, response: m.output.typeName };
  }
  return out;
}

/**
 * Every `grpc.AgentService` RPC at kata 4.1, from the generated service descriptor. The policy
 * entrypoint of an RPC is its request message name (both ReadStdout and ReadStderr evaluate
 * `ReadStreamRequest`; MemAgentMemcgSet evaluates `MemAgentMemcgConfig`).
 */
export const AGENT_METHODS: Readonly<Record<string, MethodSpec>> = methodTable(AgentService);

/** `grpc.Health` RPCs. */
export const HEALTH_METHODS: Readonly<Record<string, MethodSpec>> = methodTable(Health);
