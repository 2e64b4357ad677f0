import {
  create,
  createFileRegistry,
  type DescMessage,
  type FileRegistry,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  type EnumDescriptorProto,
  EnumDescriptorProtoSchema,
  type FieldDescriptorProto,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  file_google_protobuf_empty,
  MethodDescriptorProtoSchema,
  ServiceDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";

/**
 * A compact way to state a protobuf file by hand: message name → fields as
 * `[name, number, type, "rep"?]`. Types are scalar names, `map<K,V>`, `enum:.pkg.Name` or a
 * message name (relative to the file's package, or fully qualified with a leading dot).
 * We write the descriptors ourselves because there is no protoc step in this project; names and
 * field numbers follow upstream's `.proto` files exactly, so the wire bytes are the same.
 */
export type FieldSpec = readonly [name: string, number: number, type: string, label?: "rep"];

/** One hand-stated protobuf file. */
export interface FileSpec {
  name: string;
  pkg: string;
  deps?: string[];
  messages: Record<string, readonly FieldSpec[]>;
  enums?: Record<string, readonly (readonly [string, number])[]>;
  services?: Record<string, Record<string, readonly [input: string, output: string]>>;
}

const SCALARS: Record<string, FieldDescriptorProto_Type> = {
  string: FieldDescriptorProto_Type.STRING,
  bool: FieldDescriptorProto_Type.BOOL,
  bytes: FieldDescriptorProto_Type.BYTES,
  int32: FieldDescriptorProto_Type.INT32,
  int64: FieldDescriptorProto_Type.INT64,
  uint32: FieldDescriptorProto_Type.UINT32,
  uint64: FieldDescriptorProto_Type.UINT64,
  double: FieldDescriptorProto_Type.DOUBLE,
};

function qualify(pkg: string, type: string): string {
  return type.startsWith(".") ? type : `.${pkg}.${type}`;
}

function field(pkg: string, name: string, num: number, type: string, rep: boolean) {
  const f: MessageInitShape<typeof FieldDescriptorProtoSchema> = {
    name,
    number: num,
    jsonName: name,
    label: rep ? FieldDescriptorProto_Label.REPEATED : FieldDescriptorProto_Label.OPTIONAL,
  };
  const scalar = SCALARS[type];
  if (scalar !== undefined) f.type = scalar;
  else if (type.startsWith("enum:")) {
    f.type = FieldDescriptorProto_Type.ENUM;
    f.typeName = type.slice(5);
  } else {
    f.type = FieldDescriptorProto_Type.MESSAGE;
    f.typeName = qualify(pkg, type);
  }
  return create(FieldDescriptorProtoSchema, f);
}

function entryName(fieldName: string): string {
  const camel = fieldName.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
}

function message(pkg: string, msgName: string, fields: readonly FieldSpec[]): DescriptorProto {
  const nested: DescriptorProto[] = [];
  const out: FieldDescriptorProto[] = [];
  for (const [name, num, type, label] of fields) {
    const m = /^map<(\w+),\s*([.\w]+)>$/.exec(type);
    if (m) {
      const entry = entryName(name);
      nested.push(
        create(DescriptorProtoSchema, {
          name: entry,
          field: [field(pkg, "key", 1, m[1]!, false), field(pkg, "value", 2, m[2]!, false)],
          options: { mapEntry: true },
        }),
      );
      out.push(field(pkg, name, num, `.${pkg}.${msgName}.${entry}`, true));
    } else {
      out.push(field(pkg, name, num, type, label === "rep"));
    }
  }
  return create(DescriptorProtoSchema, { name: msgName, field: out, nestedType: nested });
}

/** Turns a {@link FileSpec} into a google.protobuf.FileDescriptorProto. */
export function toFileDescriptor(spec: FileSpec): FileDescriptorProto {
  const enums: EnumDescriptorProto[] = Object.entries(spec.enums ?? {}).map(([name, values]) =>
    create(EnumDescriptorProtoSchema, {
      name,
      value: values.map(([n, v]) => ({ name: n, number: v })),
    }),
  );
  const services = Object.entries(spec.services ?? {}).map(([name, methods]) =>
    create(ServiceDescriptorProtoSchema, {
      name,
      method: Object.entries(methods).map(([m, [i, o]]) =>
        create(MethodDescriptorProtoSchema, {
          name: m,
          inputType: qualify(spec.pkg, i),
          outputType: qualify(spec.pkg, o),
        }),
      ),
    }),
  );
  return create(FileDescriptorProtoSchema, {
    name: spec.name,
    package: spec.pkg,
    syntax: "proto3",
    dependency: spec.deps ?? [],
    messageType: Object.entries(spec.messages).map(([n, f]) => message(spec.pkg, n, f)),
    enumType: enums,
    service: services,
  });
}

/** Builds one registry holding every hand-stated file (imports resolved among them). */
export function buildRegistry(specs: readonly FileSpec[]): FileRegistry {
  const protos = new Map<string, FileDescriptorProto>();
  for (const s of specs) protos.set(s.name, toFileDescriptor(s));
  const resolve = (name: string) =>
    name === "google/protobuf/empty.proto" ? file_google_protobuf_empty : protos.get(name);
  return createFileRegistry(...[...protos.values()].map((p) => createFileRegistry(p, resolve)));
}

/** Looks up a message descriptor by its full name or throws. */
export function mustMessage(reg: FileRegistry, fullName: string): DescMessage {
  const d = reg.getMessage(fullName);
  if (d === undefined) throw new Error(`protobuf schema has no message ${fullName}`);
  return d;
}
