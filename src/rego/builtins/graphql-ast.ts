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
