import { createRegistry, type DescMessage, type Registry } from "@bufbuild/protobuf";
import { file_google_protobuf_empty } from "@bufbuild/protobuf/wkt";
import { file_kata_agent } from "../proto/kata/agent_pb.js";
import { file_kata_csi } from "../proto/kata/csi_pb.js";
import { file_kata_health } from "../proto/kata/health_pb.js";
import { file_kata_oci } from "../proto/kata/oci_pb.js";
import { file_kata_types } from "../proto/kata/types_pb.js";

let cached: Registry | undefined;

/**
 * The registry of every agent API message (packages `grpc` and `types`), from the TypeScript
 * generated from `src/protocol/proto/kata/*.proto`; built once on first use.
 */
export function agentRegistry(): Registry {
  cached ??= createRegistry(
    file_kata_agent,
    file_kata_oci,
    file_kata_types,
    file_kata_csi,
    file_kata_health,
    file_google_protobuf_empty,
  );
  return cached;
}

/** The descriptor of `grpc.<name>` (or of a fully qualified name such as `types.Interface`). */
export function agentMessage(name: string): DescMessage {
  const fullName = name.includes(".") ? name : `grpc.${name}`;
  const d = agentRegistry().getMessage(fullName);
  if (d === undefined) throw new Error(`protobuf schema has no message ${fullName}`);
  return d;
}
