import type {
  ArgumentNode,
  ConstDirectiveNode,
  DefinitionNode,
  DirectiveNode,
  DocumentNode,
  FieldDefinitionNode,
  InputValueDefinitionNode,
  SelectionSetNode,
  TypeNode,
  ValueNode,
  VariableDefinitionNode,
} from "graphql";
import { ObjectValue, type Value } from "../value/value.js";

/**
 * graphql-js documents converted to the shape OPA returns for gqlparser's AST: every scalar
 * field present (zero values included), lists and nested nodes only when non-empty, positions
 * dropped, directive usages with an empty `Location`.
 */
type Rec = Record<string, Value | undefined>;

function obj(r: Rec): ObjectValue {
  const o = new ObjectValue();
  for (const k of Object.keys(r)) {
    const v = r[k];
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    o.set(k, v);
  }
  return o;
}

function list<T>(xs: readonly T[] | undefined, f: (x: T) => Value): Value[] | undefined {
  return xs && xs.length > 0 ? (Object.freeze(xs.map(f)) as Value[]) : undefined;
}

const VALUE_KIND = {
  Variable: 0,
  IntValue: 1,
  FloatValue: 2,
  StringValue: 3,
  BlockValue: 4,
  BooleanValue: 5,
  NullValue: 6,
  EnumValue: 7,
  ListValue: 8,
  ObjectValue: 9,
} as const;

function value(v: ValueNode): Value {
  const base = (kind: number, raw: string, children?: Value[]) =>
    obj({ Raw: raw, Children: children, Kind: kind, ExpectedTypeHasDefault: false });
  switch (v.kind) {
    case "Variable":
      return base(VALUE_KIND.Variable, v.name.value);
    case "IntValue":
      return base(VALUE_KIND.IntValue, v.value);
    case "FloatValue":
      return base(VALUE_KIND.FloatValue, v.value);
    case "StringValue":
      return base(v.block ? VALUE_KIND.BlockValue : VALUE_KIND.StringValue, v.value);
    case "BooleanValue":
      return base(VALUE_KIND.BooleanValue, String(v.value));
    case "NullValue":
      return base(VALUE_KIND.NullValue, "null");
    case "EnumValue":
      return base(VALUE_KIND.EnumValue, v.value);
    case "ListValue":
      return base(
        VALUE_KIND.ListValue,
        "",
        v.values.map((x) => obj({ Name: "", Value: value(x) })),
      );
    default:
      return base(
        VALUE_KIND.ObjectValue,
        "",
        v.fields.map((f) => obj({ Name: f.name.value, Value: value(f.value) })),
      );
  }
}

function type(t: TypeNode): Value {
  switch (t.kind) {
    case "NamedType":
      return obj({ NamedType: t.name.value, NonNull: false });
    case "ListType":
      return obj({ NamedType: "", Elem: type(t.type), NonNull: false });
    default: {
      const inner = type(t.type) as ObjectValue;
      inner.set("NonNull", true);
      return inner;
    }
  }
}

const argument = (a: ArgumentNode): Value => obj({ Name: a.name.value, Value: value(a.value) });

const directive = (d: DirectiveNode | ConstDirectiveNode): Value =>
  obj({ Name: d.name.value, Arguments: list(d.arguments, argument), Location: "" });

function selections(s: SelectionSetNode | undefined): Value[] | undefined {
  return list(s?.selections, (sel) => {
    switch (sel.kind) {
      case "Field":
        return obj({
          Alias: sel.alias?.value ?? sel.name.value,
          Name: sel.name.value,
          Arguments: list(sel.arguments, argument),
          Directives: list(sel.directives, directive),
          SelectionSet: selections(sel.selectionSet),
        });
      case "FragmentSpread":
        return obj({ Name: sel.name.value, Directives: list(sel.directives, directive) });
      default:
        return obj({
          TypeCondition: sel.typeCondition?.name.value ?? "",
          Directives: list(sel.directives, directive),
          SelectionSet: selections(sel.selectionSet),
        });
    }
  });
}

const variable = (v: VariableDefinitionNode): Value =>
  obj({
    Variable: v.variable.name.value,
    Type: type(v.type),
    DefaultValue: v.defaultValue ? value(v.defaultValue) : undefined,
    Directives: list(v.directives, directive),
    Used: false,
  });

/** A query document as OPA's `graphql.parse_query` returns it. */
export function queryDocument(doc: DocumentNode): ObjectValue {
  const ops: Value[] = [];
  const frags: Value[] = [];
  for (const d of doc.definitions) {
    if (d.kind === "OperationDefinition") {
      ops.push(
        obj({
          Operation: d.operation,
          Name: d.name?.value ?? "",
          VariableDefinitions: list(d.variableDefinitions, variable),
          Directives: list(d.directives, directive),
          SelectionSet: selections(d.selectionSet),
        }),
      );
    } else if (d.kind === "FragmentDefinition") {
      frags.push(
        obj({
          Name: d.name.value,
          VariableDefinition: list(d.variableDefinitions, variable),
          TypeCondition: d.typeCondition.name.value,
          Directives: list(d.directives, directive),
          SelectionSet: selections(d.selectionSet),
        }),
      );
    }
  }
  return obj({ Operations: ops, Fragments: frags });
}

const inputValue = (a: InputValueDefinitionNode): Value =>
  obj({
    Description: a.description?.value ?? "",
    Name: a.name.value,
    DefaultValue: a.defaultValue ? value(a.defaultValue) : undefined,
    Type: type(a.type),
    Directives: list(a.directives, directive),
  });

const field = (f: FieldDefinitionNode): Value =>
  obj({
    Description: f.description?.value ?? "",
    Name: f.name.value,
    Arguments: list(f.arguments, inputValue),
    Type: type(f.type),
    Directives: list(f.directives, directive),
  });

const KIND: Record<string, string> = {
  ObjectTypeDefinition: "OBJECT",
  ObjectTypeExtension: "OBJECT",
  InterfaceTypeDefinition: "INTERFACE",
  InterfaceTypeExtension: "INTERFACE",
  UnionTypeDefinition: "UNION",
  UnionTypeExtension: "UNION",
  EnumTypeDefinition: "ENUM",
  EnumTypeExtension: "ENUM",
  InputObjectTypeDefinition: "INPUT_OBJECT",
  InputObjectTypeExtension: "INPUT_OBJECT",
  ScalarTypeDefinition: "SCALAR",
  ScalarTypeExtension: "SCALAR",
};

function definition(d: DefinitionNode): Value | undefined {
  const kind = KIND[d.kind];
  if (!kind || !("name" in d) || !d.name) return undefined;
  const n = d as DefinitionNode & Record<string, unknown>;
  const desc = (n.description as { value: string } | undefined)?.value ?? "";
  const fields =
    d.kind === "InputObjectTypeDefinition" || d.kind === "InputObjectTypeExtension"
      ? list(d.fields, (f) =>
          field({ ...f, kind: "FieldDefinition", arguments: [] } as unknown as FieldDefinitionNode),
        )
      : "fields" in d
        ? list(d.fields as readonly FieldDefinitionNode[] | undefined, field)
        : undefined;
  return obj({
    Kind: kind,
    Description: desc,
    Name: d.name.value,
    Directives: list(n.directives as readonly ConstDirectiveNode[] | undefined, directive),
    Interfaces: list(
      n.interfaces as readonly { name: { value: string } }[] | undefined,
      (i) => i.name.value,
    ),
    Fields: fields,
    Types: list(n.types as readonly { name: { value: string } }[] | undefined, (t) => t.name.value),
    EnumValues: list(
      n.values as
        | readonly {
            name: { value: string };
            description?: { value: string };
            directives?: readonly ConstDirectiveNode[];
          }[]
        | undefined,
      (e) =>
        obj({
          Description: e.description?.value ?? "",
          Name: e.name.value,
          Directives: list(e.directives, directive),
        }),
    ),
    BuiltIn: false,
  });
}

/** A schema document as OPA's `graphql.parse_schema` returns it. */
export function schemaDocument(doc: DocumentNode): ObjectValue {
  const schema: Value[] = [];
  const schemaExt: Value[] = [];
  const directives: Value[] = [];
  const defs: Value[] = [];
  const exts: Value[] = [];
  for (const d of doc.definitions) {
    if (d.kind === "SchemaDefinition" || d.kind === "SchemaExtension") {
      const s = obj({
        Description: d.kind === "SchemaDefinition" ? (d.description?.value ?? "") : "",
        Directives: list(d.directives, directive),
        OperationTypes: list(d.operationTypes, (o) =>
          obj({ Operation: o.operation, Type: o.type.name.value }),
        ),
      });
      (d.kind === "SchemaDefinition" ? schema : schemaExt).push(s);
    } else if (d.kind === "DirectiveDefinition") {
      directives.push(
        obj({
          Description: d.description?.value ?? "",
          Name: d.name.value,
          Arguments: list(d.arguments, inputValue),
          Locations: Object.freeze(d.locations.map((l) => l.value)),
          IsRepeatable: d.repeatable,
        }),
      );
    } else {
      const v = definition(d);
      if (v) (d.kind.endsWith("Extension") ? exts : defs).push(v);
    }
  }
  return obj({
    Schema: schema,
    SchemaExtension: schemaExt,
    Directives: directives,
    Definitions: defs,
    Extensions: exts,
  });
}

/* ---- The reverse: a gqlparser-shaped AST (as returned above) back to GraphQL text. ---- */

const g = (o: Value | undefined, k: string): Value | undefined =>
  o instanceof ObjectValue ? o.get(k) : undefined;
const str = (v: Value | undefined): string => (typeof v === "string" ? v : "");
const arr = (v: Value | undefined): readonly Value[] => (Array.isArray(v) ? v : []);

function typeText(t: Value | undefined): string {
  const elem = g(t, "Elem");
  const base = elem !== undefined ? `[${typeText(elem)}]` : str(g(t, "NamedType"));
  return g(t, "NonNull") === true ? `${base}!` : base;
}

function valueText(v: Value | undefined): string {
  const kind = g(v, "Kind");
  const raw = str(g(v, "Raw"));
  const children = arr(g(v, "Children"));
  switch (kind) {
    case 0:
      return `$${raw}`;
    case 3:
    case 4:
      return JSON.stringify(raw);
    case 8:
      return `[${children.map((c) => valueText(g(c, "Value"))).join(", ")}]`;
    case 9:
      return `{${children.map((c) => `${str(g(c, "Name"))}: ${valueText(g(c, "Value"))}`).join(", ")}}`;
    default:
      return raw;
  }
}

function argsText(v: Value | undefined, def = false): string {
  const xs = arr(v);
  if (xs.length === 0) return "";
  const one = (a: Value) =>
    def
      ? `${str(g(a, "Name"))}: ${typeText(g(a, "Type"))}${g(a, "DefaultValue") ? ` = ${valueText(g(a, "DefaultValue"))}` : ""}${dirsText(g(a, "Directives"))}`
      : `${str(g(a, "Name"))}: ${valueText(g(a, "Value"))}`;
  return `(${xs.map(one).join(", ")})`;
}

function dirsText(v: Value | undefined): string {
  return arr(v)
    .map((d) => ` @${str(g(d, "Name"))}${argsText(g(d, "Arguments"))}`)
    .join("");
}

function selectionText(set: Value | undefined): string {
  const xs = arr(set);
  if (xs.length === 0) return "";
  const one = (s: Value): string => {
    if (g(s, "TypeCondition") !== undefined && g(s, "Name") === undefined) {
      const tc = str(g(s, "TypeCondition"));
      return `...${tc ? ` on ${tc}` : ""}${dirsText(g(s, "Directives"))} ${selectionText(g(s, "SelectionSet"))}`;
    }
    if (g(s, "Alias") === undefined)
      return `...${str(g(s, "Name"))}${dirsText(g(s, "Directives"))}`;
    const name = str(g(s, "Name"));
    const alias = str(g(s, "Alias"));
    return `${alias && alias !== name ? `${alias}: ` : ""}${name}${argsText(g(s, "Arguments"))}${dirsText(g(s, "Directives"))} ${selectionText(g(s, "SelectionSet"))}`;
  };
  return `{ ${xs.map(one).join(" ")} }`;
}

/** GraphQL text of a query AST in gqlparser's shape. */
export function queryText(doc: Value): string {
  const vars = (v: Value | undefined) => {
    const xs = arr(v);
    return xs.length === 0
      ? ""
      : `(${xs
          .map(
            (x) =>
              `$${str(g(x, "Variable"))}: ${typeText(g(x, "Type"))}${g(x, "DefaultValue") ? ` = ${valueText(g(x, "DefaultValue"))}` : ""}${dirsText(g(x, "Directives"))}`,
          )
          .join(", ")})`;
  };
  const ops = arr(g(doc, "Operations")).map(
    (o) =>
      `${str(g(o, "Operation")) || "query"} ${str(g(o, "Name"))}${vars(g(o, "VariableDefinitions"))}${dirsText(g(o, "Directives"))} ${selectionText(g(o, "SelectionSet"))}`,
  );
  const frags = arr(g(doc, "Fragments")).map(
    (f) =>
      `fragment ${str(g(f, "Name"))}${vars(g(f, "VariableDefinition"))} on ${str(g(f, "TypeCondition"))}${dirsText(g(f, "Directives"))} ${selectionText(g(f, "SelectionSet"))}`,
  );
  return [...ops, ...frags].join("\n");
}

const KEYWORD: Record<string, string> = {
  OBJECT: "type",
  INTERFACE: "interface",
  UNION: "union",
  ENUM: "enum",
  INPUT_OBJECT: "input",
  SCALAR: "scalar",
};

function definitionText(d: Value, extend: boolean): string {
  const kind = str(g(d, "Kind"));
  const desc = str(g(d, "Description"));
  let out = `${desc && !extend ? `${JSON.stringify(desc)}\n` : ""}${extend ? "extend " : ""}${KEYWORD[kind] ?? "type"} ${str(g(d, "Name"))}`;
  const ifaces = arr(g(d, "Interfaces"));
  if (ifaces.length) out += ` implements ${ifaces.map(str).join(" & ")}`;
  out += dirsText(g(d, "Directives"));
  const types = arr(g(d, "Types"));
  if (types.length) out += ` = ${types.map(str).join(" | ")}`;
  const fields = arr(g(d, "Fields"));
  if (fields.length) {
    out += ` { ${fields
      .map(
        (f) =>
          `${str(g(f, "Name"))}${argsText(g(f, "Arguments"), true)}: ${typeText(g(f, "Type"))}${g(f, "DefaultValue") ? ` = ${valueText(g(f, "DefaultValue"))}` : ""}${dirsText(g(f, "Directives"))}`,
      )
      .join(" ")} }`;
  }
  const values = arr(g(d, "EnumValues"));
  if (values.length)
    out += ` { ${values.map((e) => `${str(g(e, "Name"))}${dirsText(g(e, "Directives"))}`).join(" ")} }`;
  return out;
}

/** GraphQL SDL text of a schema AST in gqlparser's shape. */
export function schemaText(doc: Value): string {
  const parts: string[] = [];
  const schemaDef = (s: Value, extend: boolean) => {
    const ops = arr(g(s, "OperationTypes"));
    return `${extend ? "extend " : ""}schema${dirsText(g(s, "Directives"))}${ops.length ? ` { ${ops.map((o) => `${str(g(o, "Operation"))}: ${str(g(o, "Type"))}`).join(" ")} }` : ""}`;
  };
  for (const s of arr(g(doc, "Schema"))) parts.push(schemaDef(s, false));
  for (const s of arr(g(doc, "SchemaExtension"))) parts.push(schemaDef(s, true));
  for (const d of arr(g(doc, "Directives"))) {
    parts.push(
      `directive @${str(g(d, "Name"))}${argsText(g(d, "Arguments"), true)}${g(d, "IsRepeatable") === true ? " repeatable" : ""} on ${arr(g(d, "Locations")).map(str).join(" | ")}`,
    );
  }
  for (const d of arr(g(doc, "Definitions"))) parts.push(definitionText(d, false));
  for (const d of arr(g(doc, "Extensions"))) parts.push(definitionText(d, true));
  return parts.join("\n");
}
