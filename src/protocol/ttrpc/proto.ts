/**
 * Protobuf message descriptors written in TypeScript (the .proto equivalent, no codegen) and
 * a typed codec over @bufbuild/protobuf's reflection API. Field names and numbers are the
 * wire contract; `decode` rejects malformed bytes with a coded error.
 */
import {
  create,
  createFileRegistry,
  type DescFile,
  type DescMessage,
  fromBinary,
  fromJson,
  type JsonObject,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, file_google_protobuf_any } from "@bufbuild/protobuf/wkt";
import { TtrpcError } from "./errors.js";

/** Scalar and composite field kinds used by the guest-components protos. */
export type FieldKind =
  | "string"
  | "bytes"
  | "int32"
  | "int64"
  | "uint64"
  | "bool"
  | { enum: string }
  | { message: string }
  | "map<string,string>";

/** One field of a message. */
export interface FieldSpec {
  name: string;
  number: number;
  kind: FieldKind;
  repeated?: boolean;
  /** proto3 `optional` (explicit presence). */
  optional?: boolean;
}

/** One message or enum of a proto file. */
export interface ProtoFileSpec {
  name: string;
  package: string;
  dependencies?: string[];
  messages: Record<string, FieldSpec[]>;
  enums?: Record<string, string[]>;
}

const SCALAR: Record<string, string> = {
  string: "TYPE_STRING",
  bytes: "TYPE_BYTES",
  int32: "TYPE_INT32",
  int64: "TYPE_INT64",
  uint64: "TYPE_UINT64",
  bool: "TYPE_BOOL",
};

function jsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function fieldJson(pkg: string, msg: string, f: FieldSpec, oneofIndex?: number): JsonObject {
  const base: JsonObject = {
    name: f.name,
    number: f.number,
    jsonName: jsonName(f.name),
    label: f.repeated ? "LABEL_REPEATED" : "LABEL_OPTIONAL",
  };
  if (f.kind === "map<string,string>") {
    base.label = "LABEL_REPEATED";
    base.type = "TYPE_MESSAGE";
    base.typeName = `.${pkg}.${msg}.${entryName(f.name)}`;
  } else if (typeof f.kind === "string") {
    base.type = SCALAR[f.kind] as string;
  } else if ("enum" in f.kind) {
    base.type = "TYPE_ENUM";
    base.typeName = f.kind.enum.startsWith(".") ? f.kind.enum : `.${pkg}.${f.kind.enum}`;
  } else {
    base.type = "TYPE_MESSAGE";
    base.typeName = f.kind.message.startsWith(".") ? f.kind.message : `.${pkg}.${f.kind.message}`;
  }
  if (f.optional) {
    base.proto3Optional = true;
    base.oneofIndex = oneofIndex ?? 0;
  }
  return base;
}

function entryName(field: string): string {
  const camel = jsonName(field);
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
}

/** Builds a descriptor file from a spec; `deps` resolves imported files. */
export function buildProtoFile(spec: ProtoFileSpec, deps: DescFile[] = []): DescFile {
  const messageType: JsonObject[] = [];
  for (const [msg, fields] of Object.entries(spec.messages)) {
    const oneofDecl: JsonObject[] = [];
    const nestedType: JsonObject[] = [];
    const field = fields.map((f) => {
      if (f.kind === "map<string,string>") {
        nestedType.push({
          name: entryName(f.name),
          field: [
            {
              name: "key",
              number: 1,
              label: "LABEL_OPTIONAL",
              type: "TYPE_STRING",
              jsonName: "key",
            },
            {
              name: "value",
              number: 2,
              label: "LABEL_OPTIONAL",
              type: "TYPE_STRING",
              jsonName: "value",
            },
          ],
          options: { mapEntry: true },
        });
      }
      if (f.optional) {
        oneofDecl.push({ name: `_${f.name}` });
        return fieldJson(spec.package, msg, f, oneofDecl.length - 1);
      }
      return fieldJson(spec.package, msg, f);
    });
    messageType.push({ name: msg, field, oneofDecl, nestedType });
  }
  const enumType: JsonObject[] = Object.entries(spec.enums ?? {}).map(([name, values]) => ({
    name,
    value: values.map((v, i) => ({ name: v, number: i })),
  }));
  const proto = fromJson(FileDescriptorProtoSchema, {
    name: spec.name,
    package: spec.package,
    syntax: "proto3",
    dependency: spec.dependencies ?? [],
    messageType,
    enumType,
  });
  const known = new Map<string, DescFile>([
    ["google/protobuf/any.proto", file_google_protobuf_any],
  ]);
  for (const d of deps) known.set(d.proto.name, d);
  const registry = createFileRegistry(proto, (name) => known.get(name));
  const file = registry.getFile(spec.name);
  if (!file) throw new Error(`descriptor ${spec.name} did not register`);
  return file;
}

/** A typed encoder/decoder for one message. `T` uses protobuf-es local (camelCase) names. */
export interface MessageCodec<T> {
  readonly typeName: string;
  readonly desc: DescMessage;
  encode(value: Partial<T>): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** Returns the codec for `typeName` in `file`. */
export function messageCodec<T>(file: DescFile, typeName: string): MessageCodec<T> {
  const desc = file.messages.find((m) => m.typeName === typeName);
  if (!desc) throw new Error(`no message ${typeName} in ${file.proto.name}`);
  return {
    typeName,
    desc,
    encode(value) {
      // biome-ignore lint/suspicious/noExplicitAny: reflection boundary, T mirrors desc fields
      return toBinary(desc, create(desc, value as any));
    },
    decode(bytes) {
      try {
        return fromBinary(desc, bytes, { readUnknownFields: false }) as unknown as T;
      } catch (err) {
        throw new TtrpcError(
          "ERR_TTRPC_BAD_MESSAGE",
          `malformed protobuf for ${typeName}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },
  };
}
