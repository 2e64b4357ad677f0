/**
 * `yaml.*` builtins. Upstream goes through sigs.k8s.io/yaml (go-yaml v2, YAML 1.1 scalars,
 * timestamps left as strings, keys turned into strings) and JSON; this file does the same
 * over the `yaml` package, which it alone imports for Rego.
 */
import { type Document, parseDocument, stringify, type Tags } from "yaml";
import { fromJs, toJs } from "../value/json.js";
import { normBig, type Value } from "../value/value.js";
import { argString, builtinError } from "./args.js";
import { base64Encode, STD } from "./gobase64.js";
import type { BuiltinTable } from "./types.js";

/** Largest YAML text accepted (alias expansion is bounded separately by the library). */
const MAX_YAML = 16 * 1024 * 1024;

/**
 * Deepest nesting accepted. The parser recurses per level and a stack overflow inside it can
 * leave V8 in a bad state, so depth is checked on the text before parsing.
 */
export const MAX_YAML_DEPTH = 200;

/** Upper bound of the nesting depth of a YAML text (flow brackets plus block indentation). */
export function yamlDepth(text: string): number {
  let max = 0;
  let flow = 0;
  const indents: number[] = [];
  for (const line of text.split("\n")) {
    const m = /^( *)((?:[-?] +)*)/.exec(line) as RegExpExecArray;
    const rest = line.slice(m[0].length);
    if (rest.trim() !== "" && !rest.trimStart().startsWith("#")) {
      const ind = (m[1] as string).length;
      while (indents.length > 0 && (indents[indents.length - 1] as number) >= ind) indents.pop();
      indents.push(ind);
      const dashes = (m[2] as string).replace(/ +/g, "").length;
      max = Math.max(max, indents.length + dashes + flow);
    }
    let quote = "";
    for (let i = 0; i < line.length; i++) {
      const c = line[i] as string;
      if (quote) {
        if (c === quote) quote = "";
        else if (c === "\\" && quote === '"') i++;
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === "#" && (i === 0 || line[i - 1] === " ")) break;
      else if (c === "[" || c === "{") max = Math.max(max, ++flow + indents.length);
      else if ((c === "]" || c === "}") && flow > 0) flow--;
    }
  }
  return max;
}

// go-yaml v2 keeps timestamps as strings when decoding into interface{}.
const noTimestamps = (tags: Tags) =>
  tags.filter(
    (t) => t !== "timestamp" && (typeof t !== "object" || t.tag !== "tag:yaml.org,2002:timestamp"),
  );

/** go-yaml's wording for the commonest syntax errors, which OPA's error texts carry. */
function goYamlError(doc: Document): string {
  const e = doc.errors[0]!;
  const line = e.linePos?.[0]?.line ?? 1;
  let msg = e.message.split(" at line ")[0] ?? e.message;
  if (e.code === "MISSING_CHAR" && /sequence/i.test(msg)) msg = "did not find expected ',' or ']'";
  else if (e.code === "MISSING_CHAR" && /map/i.test(msg)) msg = "did not find expected ',' or '}'";
  return `yaml: line ${line}: ${msg}`;
}

function parseYaml(s: string): Document {
  if (s.length > MAX_YAML) throw new Error(`yaml: document larger than ${MAX_YAML} bytes`);
  if (yamlDepth(s) > MAX_YAML_DEPTH)
    throw new Error(`yaml: document nested deeper than ${MAX_YAML_DEPTH} levels`);
  return parseDocument(s, {
    schema: "yaml-1.1",
    customTags: noTimestamps,
    intAsBigInt: true,
    uniqueKeys: false,
  });
}

/** Converts the parsed document to a Rego value with JSON semantics (keys become strings). */
function toValue(doc: Document): Value {
  const js = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  return fromJs(jsonify(js));
}

function jsonify(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === "bigint") return normBig(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`json: unsupported value: ${String(v)}`);
    return v;
  }
  if (v instanceof Uint8Array) return base64Encode(STD, v);
  if (Array.isArray(v)) return v.map(jsonify);
  if (v instanceof Set) return [...v].map(jsonify);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, e] of v) o[mapKey(k)] = jsonify(e);
    return o;
  }
  if (typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v as object)) o[k] = jsonify(e);
    return o;
  }
  return v;
}

function mapKey(k: unknown): string {
  if (typeof k === "string") return k;
  if (k === null || k === undefined) return "null";
  return String(k);
}

/** `yaml.marshal`: the value as JSON, then as YAML in go-yaml v2's block style. */
function marshal(v: Value): string {
  const plain = toJs(v);
  if (plain === null) return "null\n";
  return stringify(plain, {
    schema: "yaml-1.1",
    indentSeq: false,
    sortMapEntries: true,
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });
}

/** `yaml.*` builtins: marshal, unmarshal, is_valid. */
export const yamlBuiltins: BuiltinTable = {
  "yaml.marshal": { arity: 1, fn: ([v]) => marshal(v as Value) },
  "yaml.unmarshal": {
    arity: 1,
    fn: (args) => {
      const s = argString("yaml.unmarshal", args, 0);
      let doc: Document;
      try {
        doc = parseYaml(s);
        if (doc.errors.length > 0) throw new Error(goYamlError(doc));
        return toValue(doc);
      } catch (e) {
        throw builtinError("yaml.unmarshal", (e as Error).message);
      }
    },
  },
  "yaml.is_valid": {
    arity: 1,
    fn: ([s]) => {
      if (typeof s !== "string") return false;
      try {
        const doc = parseYaml(s);
        if (doc.errors.length > 0) return false;
        toValue(doc);
        return true;
      } catch {
        return false;
      }
    },
  },
};
