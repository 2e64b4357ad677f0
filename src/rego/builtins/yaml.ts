/**
 * `yaml.*` builtins. Upstream goes through sigs.k8s.io/yaml (go-yaml v2, YAML 1.1 scalars,
 * timestamps left as strings, keys turned into strings) and JSON; this file does the same
 * over the `yaml` package, which it alone imports for Rego.
 */
import {
  Document,
  isScalar,
  parseDocument,
  type ScalarTag,
  stringify,
  type Tags,
  visit,
} from "yaml";
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

/** An int tag for the go-yaml forms the YAML 1.2 core schema lacks. */
const goInt = (test: RegExp, radix: "0o" | "0b" | ""): ScalarTag => ({
  identify: (v) => typeof v === "bigint",
  default: true,
  tag: "tag:yaml.org,2002:int",
  test,
  resolve: (s) => {
    const neg = s.startsWith("-");
    const digits = s.replace(/^[-+]/, "").replace(/^0b/, "").replace(/_/g, "");
    const n = BigInt(`${radix}${digits}`);
    return neg ? -n : n;
  },
});

// OPA's YAML (sigs.k8s.io/yaml on go-yaml v3) reads YAML 1.2 booleans and nulls (`yes` stays a
// string, timestamps stay strings) but keeps go-yaml's legacy octal `010`, `0b` binary and `_`
// digit separators; these tags go before the core schema's own.
const goTags = (tags: Tags) => [
  goInt(/^[-+]?0[0-7_]+$/, "0o"),
  goInt(/^[-+]?0b[01_]+$/, "0b"),
  goInt(/^[-+]?[0-9][0-9_]*$/, ""),
  ...tags,
];

/** go-yaml's wording for the commonest syntax errors, which OPA's error texts carry. */
function goYamlError(doc: Document): string {
  const e = doc.errors[0]!;
  const line = e.linePos?.[0]?.line ?? 1;
  let msg = e.message.split(" at line ")[0] ?? e.message;
  if (/^Flow sequence/.test(msg)) msg = "did not find expected ',' or ']'";
  else if (/^Flow map/.test(msg)) msg = "did not find expected ',' or '}'";
  return `yaml: line ${line}: ${msg}`;
}

function parseYaml(s: string): Document {
  if (s.length > MAX_YAML) throw new Error(`yaml: document larger than ${MAX_YAML} bytes`);
  if (yamlDepth(s) > MAX_YAML_DEPTH)
    throw new Error(`yaml: document nested deeper than ${MAX_YAML_DEPTH} levels`);
  return parseDocument(s, {
    schema: "core",
    customTags: goTags,
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

/** True when go-yaml would read `s` as something other than a string (so it must be quoted). */
function ambiguous(s: string): boolean {
  if (s === "" || /^\d{4}-\d\d?-\d\d?(?:[Tt ].*)?$/.test(s)) return true;
  for (const schema of ["yaml-1.1", "core"] as const) {
    const d = parseDocument(s, { schema });
    const c = d.contents;
    if (d.errors.length === 0 && isScalar(c) && typeof c.value !== "string" && c.range?.[0] === 0)
      return true;
  }
  return false;
}

/**
 * `yaml.marshal`: the value as JSON, then YAML in go-yaml v3's style: sequences indented under
 * their key, strings that would read as another type double-quoted, strings that cannot be
 * plain single-quoted, multi-line strings as literal blocks.
 */
function marshal(v: Value): string {
  const plain = toJs(v);
  if (plain === null) return "null\n";
  const doc = new Document(plain, { sortMapEntries: true, aliasDuplicateObjects: false });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== "string") return;
      if (node.value.includes("\n")) node.type = "BLOCK_LITERAL";
      else if (ambiguous(node.value)) node.type = "QUOTE_DOUBLE";
      else node.type = /^["']/.test(stringify(node.value)) ? "QUOTE_SINGLE" : "PLAIN";
    },
  });
  return doc.toString({ indentSeq: true, lineWidth: 0, singleQuote: true });
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
