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
    const field = loc === "" ? "(root)" : loc.split("/").map(decodeURIComponent).join(".");
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
        desc = `Does not match pattern '${String(kw)}'`;
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

function validator(name: string, schemaArg: Value, pos: number): { v: Validator; schema: Json } {
  const schema = toJson(schemaArg, "schema", name, pos);
  checkSchema(schema);
  return { v: new Validator(schema as object, draftOf(schema), false), schema };
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
      let vs: { v: Validator; schema: Json };
      try {
        vs = validator(name, s as Value, 2);
      } catch (e) {
        if (e instanceof SchemaError) throw builtinError(name, e.message);
        throw e;
      }
      const doc = toJson(d as Value, "document", name, 1);
      const r = vs.v.validate(doc);
      if (r.valid) return [true, []];
      return [false, toResults(r.errors, doc, vs.schema)];
    },
  },
};
