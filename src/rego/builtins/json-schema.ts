/**
 * `json.verify_schema` and `json.match_schema`. Validation is done by `@cfworker/json-schema`
 * (drafts 4, 7, 2019-09, 2020-12; no code generation), which only this file imports. Results
 * are reported in the shape OPA's gojsonschema produces: `{error, type, field, desc}` with
 * gojsonschema's description texts for the common keywords.
 */
import { type OutputUnit, Validator } from "@cfworker/json-schema";
import { parseJsonValue, toJs } from "../value/json.js";
import { ObjectValue, type Value } from "../value/value.js";
import { builtinError, operandError } from "./args.js";
import { compileGoRegexp, type GoRegexp, RegexpSyntaxError } from "./re2.js";
import type { BuiltinTable } from "./types.js";

const PRIMITIVES = ["array", "boolean", "integer", "number", "null", "object", "string"];

/** Thrown for a schema gojsonschema would refuse to load; the text is gojsonschema's. */
class SchemaError extends Error {}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A Rego value (or JSON text) as plain JSON for the validator; big integers become floats. */
function toJson(v: Value, what: string, name: string, pos: number): Json {
  let val = v;
  if (typeof v === "string") {
    try {
      val = parseJsonValue(v);
    } catch (e) {
      throw builtinError(name, `${what} is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (what === "schema" && !(val instanceof ObjectValue) && typeof val !== "boolean") {
    throw operandError(name, pos, "one of {object, string}", v);
  }
  return JSON.parse(
    JSON.stringify(toJs(val), (_k, x) => (typeof x === "bigint" ? Number(x) : x)),
  ) as Json;
}

const SCHEMA_MAPS = ["properties", "patternProperties", "definitions", "$defs", "dependentSchemas"];
const SCHEMA_ONE = [
  "additionalProperties",
  "additionalItems",
  "contains",
  "not",
  "if",
  "then",
  "else",
  "propertyNames",
  "unevaluatedItems",
  "unevaluatedProperties",
];
const SCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "prefixItems"];

/** The load-time checks gojsonschema makes that matter here: valid `type` names. */
function checkSchema(s: Json, depth = 0): void {
  if (depth > 200) throw new SchemaError("schema nested too deeply");
  if (s === null || typeof s !== "object" || Array.isArray(s)) return;
  const t = s.type;
  if (t !== undefined) {
    for (const x of Array.isArray(t) ? t : [t]) {
      if (typeof x !== "string" || !PRIMITIVES.includes(x)) {
        throw new SchemaError(
          `has a primitive type that is NOT VALID -- given: /${String(x)}/ Expected valid values are:[${PRIMITIVES.join(" ")}]`,
        );
      }
    }
  }
  for (const k of SCHEMA_MAPS) {
    const m = s[k];
    if (m && typeof m === "object" && !Array.isArray(m))
      for (const sub of Object.values(m)) checkSchema(sub, depth + 1);
  }
  for (const k of SCHEMA_ONE) if (s[k] !== undefined) checkSchema(s[k] as Json, depth + 1);
  for (const k of SCHEMA_LISTS) {
    const l = s[k];
    if (Array.isArray(l)) for (const sub of l) checkSchema(sub, depth + 1);
  }
  const items = s.items;
  if (Array.isArray(items)) for (const sub of items) checkSchema(sub, depth + 1);
  else if (items !== undefined) checkSchema(items, depth + 1);
  const deps = s.dependencies;
  if (deps && typeof deps === "object" && !Array.isArray(deps)) {
    for (const sub of Object.values(deps)) if (!Array.isArray(sub)) checkSchema(sub, depth + 1);
  }
}

function draftOf(schema: Json): "4" | "7" | "2019-09" | "2020-12" {
  const id =
    schema !== null && typeof schema === "object" && !Array.isArray(schema)
      ? schema.$schema
      : undefined;
  if (typeof id === "string") {
    if (id.includes("draft-04")) return "4";
    if (id.includes("2019-09")) return "2019-09";
    if (id.includes("2020-12")) return "2020-12";
  }
  return "7";
}

/** gojsonschema's JSON type name of an instance ("integer" for integral numbers). */
function typeName(v: Json | undefined): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function at(doc: Json, pointer: string): Json | undefined {
  let cur: Json | undefined = doc;
  for (const raw of pointer
    .replace(/^#\/?/, "")
    .split("/")
    .filter((p) => p !== "")) {
    const p = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (cur === null || typeof cur !== "object") return undefined;
    cur = Array.isArray(cur) ? cur[Number(p)] : cur[p];
  }
  return cur;
}

// Wrapper errors cfworker adds around a nested failure; gojsonschema reports only the leaf.
const WRAPPERS = new Set([
  "properties",
  "patternProperties",
  "items",
  "additionalItems",
  "$ref",
  "allOf",
  "dependencies",
  "false",
]);

/** Maps validator output units to gojsonschema-style result objects. */
function toResults(units: OutputUnit[], doc: Json, schema: Json): Value[] {
  const out: Value[] = [];
  for (const u of units) {
    if (WRAPPERS.has(u.keyword)) continue;
    const loc = u.instanceLocation.replace(/^#\/?/, "");
    const field = loc === "" ? "(Root)" : loc.split("/").map(decodeURIComponent).join(".");
    const sub = at(schema, u.keywordLocation.replace(/\/[^/]*$/, "")) as
      | { [k: string]: Json }
      | undefined;
    const kw = sub?.[u.keyword];
    let type = u.keyword;
    let desc = u.error;
    const quoted = /"([^"]*)"/.exec(u.error)?.[1] ?? "";
    switch (u.keyword) {
      case "type":
        type = "invalid_type";
        desc = `Invalid type. Expected: ${Array.isArray(kw) ? kw.join("/") : String(kw)}, given: ${typeName(at(doc, u.instanceLocation))}`;
        break;
      case "required":
        desc = `${quoted} is required`;
        break;
      case "additionalProperties":
        type = "additional_property_not_allowed";
        desc = `Additional property ${quoted} is not allowed`;
        break;
      case "enum":
        desc = `${field} must be one of the following: ${(kw as Json[]).map((x) => JSON.stringify(x)).join(", ")}`;
        break;
      case "const":
        desc = `${field} does not match: ${JSON.stringify(kw)}`;
        break;
      case "minimum":
        type = "number_gte";
        desc = `Must be greater than or equal to ${String(kw)}`;
        break;
      case "maximum":
        type = "number_lte";
        desc = `Must be less than or equal to ${String(kw)}`;
        break;
      case "minLength":
        type = "string_gte";
        desc = `String length must be greater than or equal to ${String(kw)}`;
        break;
      case "maxLength":
        type = "string_lte";
        desc = `String length must be less than or equal to ${String(kw)}`;
        break;
      case "pattern":
        desc = u.error;
        break;
      case "minItems":
        type = "array_min_items";
        desc = `Array must have at least ${String(kw)} items`;
        break;
      case "maxItems":
        type = "array_max_items";
        desc = `Array must have at most ${String(kw)} items`;
        break;
      case "anyOf":
        type = "number_any_of";
        desc = "Must validate at least one schema (anyOf)";
        break;
      case "oneOf":
        type = "number_one_of";
        desc = "Must validate one and only one schema (oneOf)";
        break;
      case "not":
        type = "number_not";
        desc = "Must not validate the schema (not)";
        break;
    }
    out.push(ObjectValue.fromRecord({ error: `${field}: ${desc}`, type, field, desc }));
  }
  return out;
}

// Keywords whose subschemas apply conditionally: a `pattern` under them cannot be checked by
// the RE2 walker below, so such schemas are refused rather than run with backtracking regexes.
const CONDITIONAL = [
  "anyOf",
  "oneOf",
  "not",
  "if",
  "then",
  "else",
  "contains",
  "dependentSchemas",
  "dependencies",
  "propertyNames",
  "unevaluatedItems",
  "unevaluatedProperties",
];

function hasPattern(s: Json, depth = 0): boolean {
  if (depth > 200 || s === null || typeof s !== "object") return false;
  if (Array.isArray(s)) return s.some((x) => hasPattern(x, depth + 1));
  if (typeof s.pattern === "string" || s.patternProperties !== undefined) return true;
  return Object.values(s).some((x) => hasPattern(x, depth + 1));
}

/**
 * Validator plus the `pattern` checks, which run on RE2 (gojsonschema uses Go's regexp too)
 * instead of the validator's backtracking JS RegExp: patterns are stripped from the schema
 * the validator sees and checked by {@link checkPatterns}.
 */
interface Compiled {
  v: Validator;
  schema: Json;
  patterns: Map<string, GoRegexp>;
}

function stripPatterns(s: Json, patterns: Map<string, GoRegexp>, depth = 0): Json {
  if (depth > 200) throw new SchemaError("schema nested too deeply");
  if (s === null || typeof s !== "object") return s;
  if (Array.isArray(s)) return s.map((x) => stripPatterns(x, patterns, depth + 1));
  const out: { [k: string]: Json } = {};
  for (const [k, x] of Object.entries(s)) {
    if (k === "patternProperties") throw new SchemaError("patternProperties is not supported");
    if (k === "pattern" && typeof x === "string") {
      if (!patterns.has(x)) {
        try {
          patterns.set(x, compileGoRegexp(x));
        } catch (e) {
          if (e instanceof RegexpSyntaxError)
            throw new SchemaError(`invalid pattern ${JSON.stringify(x)}: ${e.message}`);
          throw e;
        }
      }
      continue;
    }
    if (CONDITIONAL.includes(k) && hasPattern(x))
      throw new SchemaError(`pattern inside ${k} is not supported`);
    out[k] = stripPatterns(x, patterns, depth + 1);
  }
  return out;
}

/** Applies `pattern` along the unconditional applicators (properties, items, allOf, $ref). */
function checkPatterns(
  root: Json,
  s: Json,
  inst: Json,
  loc: string,
  c: Compiled,
  out: OutputUnit[],
  depth = 0,
): void {
  if (depth > 200) throw new SchemaError("schema recursion too deep");
  if (s === null || typeof s !== "object" || Array.isArray(s)) return;
  const ref = s.$ref;
  if (typeof ref === "string" && ref.startsWith("#"))
    checkPatterns(root, at(root, ref) ?? null, inst, loc, c, out, depth + 1);
  if (
    typeof s.pattern === "string" &&
    typeof inst === "string" &&
    !c.patterns.get(s.pattern)?.test(inst)
  ) {
    out.push({
      instanceLocation: loc,
      keyword: "pattern",
      keywordLocation: "",
      error: `Does not match pattern '${s.pattern}'`,
    });
  }
  if (Array.isArray(s.allOf))
    for (const sub of s.allOf) checkPatterns(root, sub, inst, loc, c, out, depth + 1);
  if (inst !== null && typeof inst === "object" && !Array.isArray(inst)) {
    const props = s.properties;
    const known = new Set(
      props && typeof props === "object" && !Array.isArray(props) ? Object.keys(props) : [],
    );
    for (const [k, x] of Object.entries(inst)) {
      const sub = known.has(k) ? (props as { [k: string]: Json })[k] : s.additionalProperties;
      if (sub !== undefined)
        checkPatterns(root, sub as Json, x, `${loc}/${encodeURIComponent(k)}`, c, out, depth + 1);
    }
  }
  if (Array.isArray(inst)) {
    const tuple = Array.isArray(s.prefixItems)
      ? s.prefixItems
      : Array.isArray(s.items)
        ? s.items
        : undefined;
    inst.forEach((x, i) => {
      const sub = tuple
        ? i < tuple.length
          ? tuple[i]
          : Array.isArray(s.prefixItems)
            ? s.items
            : s.additionalItems
        : s.items;
      if (sub !== undefined) checkPatterns(root, sub as Json, x, `${loc}/${i}`, c, out, depth + 1);
    });
  }
}

function validator(name: string, schemaArg: Value, pos: number): Compiled {
  const schema = toJson(schemaArg, "schema", name, pos);
  checkSchema(schema);
  const patterns = new Map<string, GoRegexp>();
  const stripped = stripPatterns(schema, patterns);
  let v: Validator;
  try {
    v = new Validator(stripped as object, draftOf(schema), false);
  } catch (e) {
    throw new SchemaError(String((e as Error).message).split("\n")[0] ?? "invalid schema");
  }
  return { v, schema, patterns };
}

/** Runs the validator, turning its failures (unresolvable or cyclic `$ref`) into coded errors. */
function runValidator(name: string, c: Compiled, doc: Json): OutputUnit[] {
  let errors: OutputUnit[];
  try {
    const r = c.v.validate(doc);
    errors = r.valid ? [] : r.errors;
  } catch (e) {
    const msg =
      e instanceof RangeError
        ? "schema recursion too deep (cyclic $ref?)"
        : String((e as Error).message).split("\n")[0];
    throw builtinError(name, msg ?? "schema validation failed");
  }
  const extra: OutputUnit[] = [];
  if (c.patterns.size > 0) {
    try {
      checkPatterns(c.schema, c.schema, doc, "#", c, extra);
    } catch (e) {
      if (e instanceof SchemaError) throw builtinError(name, e.message);
      throw e;
    }
  }
  return [...errors, ...extra];
}

/** `json.verify_schema` and `json.match_schema`. */
export const jsonSchemaBuiltins: BuiltinTable = {
  "json.verify_schema": {
    arity: 1,
    fn: ([s]) => {
      try {
        validator("json.verify_schema", s as Value, 1);
        return [true, null];
      } catch (e) {
        if (e instanceof SchemaError) return [false, `jsonschema: ${e.message}`];
        throw e;
      }
    },
  },
  "json.match_schema": {
    arity: 2,
    fn: ([d, s]) => {
      const name = "json.match_schema";
      let vs: Compiled;
      try {
        vs = validator(name, s as Value, 2);
      } catch (e) {
        if (e instanceof SchemaError) throw builtinError(name, e.message);
        throw e;
      }
      const doc = toJson(d as Value, "document", name, 1);
      const errors = runValidator(name, vs, doc);
      if (errors.length === 0) return [true, []];
      return [false, toResults(errors, doc, vs.schema)];
    },
  },
};
