import {
  buildASTSchema,
  type DocumentNode,
  type GraphQLSchema,
  Kind,
  parse,
  validate,
  validateSchema,
} from "graphql";
import { ObjectValue, type Value } from "../value/value.js";
import { builtinError, operandError } from "./args.js";
import { queryDocument, queryText, schemaDocument, schemaText } from "./graphql-ast.js";
import type { BuiltinTable } from "./types.js";

/** Largest schema or query text accepted (policies get them from input). */
const MAX_TEXT = 1 << 20;

function text(name: string, args: readonly Value[], i: number): string {
  const v = args[i] as Value;
  if (typeof v === "string") {
    if (v.length > MAX_TEXT) throw builtinError(name, "document too large");
    return v;
  }
  // An AST object (as parse_query/parse_schema return it) goes back to GraphQL text.
  if (v instanceof ObjectValue) {
    return v.has("Operations") || v.has("Fragments") ? queryText(v) : schemaText(v);
  }
  throw operandError(name, i + 1, "one of {object, string}", v);
}

/**
 * Builds a schema as OPA's gqlparser does: its prelude (built-in scalars and directives) is
 * implicit, and `extend type X` of a type the document never defines declares X.
 */
function loadSchema(sdl: string): GraphQLSchema {
  const doc = parseGql(sdl);
  const defined = new Set<string>();
  for (const d of doc.definitions) {
    if ("name" in d && d.name && !d.kind.endsWith("Extension")) defined.add(d.name.value);
  }
  const defs = doc.definitions.map((d) => {
    if (d.kind === Kind.OBJECT_TYPE_EXTENSION && !defined.has(d.name.value)) {
      defined.add(d.name.value);
      return { ...d, kind: Kind.OBJECT_TYPE_DEFINITION } as unknown as typeof d;
    }
    return d;
  });
  const fixed = { ...doc, definitions: defs } as DocumentNode;
  const schema = buildASTSchema(fixed, { assumeValidSDL: false });
  // gqlparser does not require a Query root type; graphql-js's schema validation does.
  const errors = validateSchema(schema).filter(
    (e) => !e.message.startsWith("Query root type must be provided"),
  );
  if (errors.length > 0) throw errors[0];
  // Validated above; `assumeValid` lets query validation run on a schema without a Query type.
  return buildASTSchema(fixed, { assumeValid: true });
}

function loadSchemaOr(name: string, sdl: string): GraphQLSchema {
  try {
    return loadSchema(sdl);
  } catch (e) {
    throw builtinError(name, (e as Error).message);
  }
}

function ok(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

/**
 * GraphQL builtins through graphql-js (the reference implementation). OPA uses gqlparser, whose
 * validation is close to graphql-js's; ASTs are converted to gqlparser's shape (graphql-ast.ts).
 * Schema/query ASTs passed back in as objects are printed back to GraphQL text first.
 */
/** gqlparser accepts an empty document and fragment variable definitions. */
function parseGql(src: string): DocumentNode {
  if (src.trim() === "") return { kind: Kind.DOCUMENT, definitions: [] };
  return parse(src, { allowLegacyFragmentVariables: true });
}

function parseDoc(name: string, src: string): DocumentNode {
  try {
    return parseGql(src);
  } catch (e) {
    throw builtinError(name, gqlMessage(e, src));
  }
}

/**
 * graphql-js's syntax error in gqlparser's wording: no "Syntax Error: " prefix or final period,
 * punctuation tokens unquoted, and ` in GraphQL string at location L:C` appended.
 */
function gqlMessage(e: unknown, src = ""): string {
  const err = e as Error & { locations?: readonly { line: number; column: number }[] };
  let m = String(err.message)
    .replace(/^Syntax Error: /, "")
    .replace(/\.$/, "")
    .replace(/"([^A-Za-z0-9_"\s]+)"/g, "$1")
    // gqlparser's wording for the same conditions.
    .replace(/^Unexpected variable "\$\w+" in constant value$/, "Unexpected $")
    .replace(/^Unterminated string$/, "Unexpected <Invalid>");
  const at = err.locations?.[0];
  // An empty `{}` list: gqlparser says "expected at least one definition".
  if (at && m === "Expected Name, found }" && /\{\s*$/.test(textBefore(src, at.line, at.column))) {
    m = "expected at least one definition, found }";
  }
  if (at) {
    // gqlparser points inside a string token (after its opening quote).
    const col = m.startsWith("Unexpected String") ? at.column + 1 : at.column;
    m += ` in GraphQL string at location ${at.line}:${col}`;
  }
  return m;
}

/** Source text before a 1-based line/column. */
function textBefore(src: string, line: number, column: number): string {
  let i = 0;
  for (let l = 1; l < line && i >= 0; l++) i = src.indexOf("\n", i) + 1;
  return src.slice(0, i + column - 1);
}

export const graphqlBuiltins: BuiltinTable = {
  "graphql.parse_query": {
    arity: 1,
    fn: (args) =>
      queryDocument(parseDoc("graphql.parse_query", text("graphql.parse_query", args, 0))),
  },
  "graphql.parse_schema": {
    arity: 1,
    fn: (args) =>
      schemaDocument(parseDoc("graphql.parse_schema", text("graphql.parse_schema", args, 0))),
  },
  "graphql.parse": {
    arity: 2,
    fn: (args) => {
      const q = text("graphql.parse", args, 0);
      const sdl = text("graphql.parse", args, 1);
      const schema = loadSchemaOr("graphql.parse", sdl);
      const qdoc = parseDoc("graphql.parse", q);
      const errors = validate(schema, qdoc);
      if (errors.length > 0) throw builtinError("graphql.parse", gqlMessage(errors[0]));
      return Object.freeze([queryDocument(qdoc), schemaDocument(parseDoc("graphql.parse", sdl))]);
    },
  },
  "graphql.parse_and_verify": {
    arity: 2,
    fn: (args) => {
      const q = text("graphql.parse_and_verify", args, 0);
      const sdl = text("graphql.parse_and_verify", args, 1);
      try {
        const schema = loadSchema(sdl);
        const qdoc = parseGql(q);
        if (validate(schema, qdoc).length > 0) throw new Error("invalid");
        return Object.freeze([true, queryDocument(qdoc), schemaDocument(parseGql(sdl))]);
      } catch {
        return Object.freeze([false, new ObjectValue(), new ObjectValue()]);
      }
    },
  },
  "graphql.schema_is_valid": {
    arity: 1,
    fn: (args) => ok(() => loadSchema(text("graphql.schema_is_valid", args, 0))),
  },
  "graphql.is_valid": {
    arity: 2,
    fn: (args) => {
      const query = text("graphql.is_valid", args, 0);
      const sdl = text("graphql.is_valid", args, 1);
      return ok(() => {
        const schema = loadSchema(sdl);
        const errors = validate(schema, parseGql(query));
        if (errors.length > 0) throw errors[0];
      });
    },
  },
};
