import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { AgentProtocolError } from "./errors.js";
import { agentMessage } from "./registry.js";

/** Largest agent request we decode: ttrpc caps a frame at 4 MiB. */
export const MAX_AGENT_MESSAGE = 4 << 20;

/** A decoded agent message: plain object keyed by each field's protobuf-es local name. */
export type AgentMessage = Record<string, unknown>;

/** Decodes `bytes` as `grpc.<name>`; a truncated or garbage message is a coded error. */
export function decodeAgentMessage<T = AgentMessage>(name: string, bytes: Uint8Array): T {
  if (bytes.length > MAX_AGENT_MESSAGE) {
    throw new AgentProtocolError(
      "ERR_AGENT_PROTO_TOO_LARGE",
      `${name}: ${bytes.length} bytes exceeds ${MAX_AGENT_MESSAGE}`,
    );
  }
  const desc = agentMessage(name);
  try {
    return fromBinary(desc, bytes) as unknown as T;
  } catch (err) {
    throw new AgentProtocolError(
      "ERR_AGENT_PROTO_DECODE",
      `${name}: not a valid protobuf message (${(err as Error).message})`,
      { cause: err },
    );
  }
}

/** Encodes a plain object (local field names; missing fields take defaults) as `grpc.<name>`. */
export function encodeAgentMessage(name: string, init: object = {}): Uint8Array {
  const desc = agentMessage(name);
  try {
    // biome-ignore lint/suspicious/noExplicitAny: init is checked field by field by create()
    return toBinary(desc, create(desc, init as any) as MessageShape<DescMessage>);
  } catch (err) {
    throw new AgentProtocolError(
      "ERR_AGENT_PROTO_ENCODE",
      `${name}: cannot encode (${(err as Error).message})`,
      { cause: err },
    );
  }
}

/** A JSON value as serde_json produces it. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// Rust keywords that rust-protobuf suffixes with `_` (the policy sees `type_`).
const RUST_KEYWORDS = new Set(["type", "match", "ref", "mod", "fn", "impl", "loop", "move"]);

function scalarJson(value: unknown): Json {
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Uint8Array) return Array.from(value);
  return value as Json;
}

function fieldJson(f: DescField, value: unknown): Json {
  switch (f.fieldKind) {
    case "scalar":
    case "enum":
      return scalarJson(value);
    case "message":
      return value === undefined ? null : toKataJson(f.message, value as AgentMessage);
    case "list": {
      const items = (value as unknown[] | undefined) ?? [];
      return f.listKind === "message"
        ? items.map((v) => toKataJson(f.message, v as AgentMessage))
        : items.map(scalarJson);
    }
    case "map": {
      const out: Record<string, Json> = {};
      for (const [k, v] of Object.entries((value as Record<string, unknown>) ?? {})) {
        out[k] = f.mapKind === "message" ? toKataJson(f.message, v as AgentMessage) : scalarJson(v);
      }
      return out;
    }
  }
}

/**
 * The JSON the Kata agent hands to its policy for a request: serde's rendering of rust-protobuf
 * structs. Every field is present with its default, unset sub-messages are `null`, 64-bit
 * integers are numbers, bytes are arrays of numbers, enums are their numbers, and Rust keywords
 * gain a `_` suffix (`type_`). Upstream: kata src/libs/protocols/build.rs + serde_config.rs.
 */
export function toKataJson(desc: DescMessage, msg: AgentMessage): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const m of desc.members) {
    if (m.kind === "oneof") {
      // rust-protobuf makes a oneof an `Option<enum>`; serde renders None as null and a set
      // member as `{"<field>": value}` (upstream: LinuxSyscall's `oneof ErrnoRet`).
      const v = msg[m.localName] as { case?: string; value?: unknown } | undefined;
      const f = m.fields.find((x) => x.localName === v?.case);
      out[m.name] = f === undefined ? null : { [f.name]: fieldJson(f, v?.value) };
      continue;
    }
    const key = RUST_KEYWORDS.has(m.name) ? `${m.name}_` : m.name;
    // proto3 `optional` scalars are Option<T> in rust-protobuf: null when absent.
    const v = msg[m.localName];
    out[key] = v === undefined && m.proto.proto3Optional ? null : fieldJson(m, v);
  }
  return out;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** The file type Rego sees for a CopyFileRequest mode (kata agent policy FileType). */
export function copyFileType(mode: number): "Regular" | "Directory" | "Symlink" | "Unknown" {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "Regular";
    case S_IFDIR:
      return "Directory";
    case S_IFLNK:
      return "Symlink";
    default:
      return "Unknown";
  }
}

/**
 * The policy `input` for a request message: kata's serde JSON, except CopyFileRequest, which is
 * pre-processed as upstream's PolicyCopyFileRequest (file_type, symlink_target; never the data).
 */
export function toPolicyInput(requestName: string, msg: AgentMessage): { [k: string]: Json } {
  if (requestName !== "CopyFileRequest") return toKataJson(agentMessage(requestName), msg);
  const mode = (msg.fileMode as number) ?? 0;
  const type = copyFileType(mode);
  let target: string | null = null;
  if (type === "Symlink") {
    try {
      target = new TextDecoder("utf-8", { fatal: true }).decode(msg.data as Uint8Array);
    } catch (err) {
      throw new AgentProtocolError("ERR_AGENT_PROTO_DECODE", "CopyFile: invalid symlink content", {
        cause: err,
      });
    }
  }
  return {
    path: msg.path as string,
    file_type: type,
    symlink_target: target,
    file_size: Number(msg.fileSize ?? 0n),
    file_mode: mode,
    dir_mode: (msg.dirMode as number) ?? 0,
    uid: (msg.uid as number) ?? 0,
    gid: (msg.gid as number) ?? 0,
    offset: Number(msg.offset ?? 0n),
  };
}
