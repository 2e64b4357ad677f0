import { RegoError } from "../errors.js";
import {
  type ArrayValue,
  compareStrings,
  isNumber,
  normBig,
  numberText,
  ObjectValue,
  rememberBigLiteral,
  SetValue,
  type Value,
} from "./value.js";

/** A plain JSON-ish JS value as the public API takes and returns it. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Deepest nesting accepted when converting host values, so hostile input cannot overflow. */
export const MAX_JSON_DEPTH = 1000;

/**
 * Converts a JSON-ish JS value to a Rego value. Arrays stay arrays, plain objects become
 * objects; JS `Set`s become Rego sets. Throws ERR_REGO_INPUT on unsupported types or depth.
 */
export function fromJs(v: unknown, depth = 0): Value {
  if (depth > MAX_JSON_DEPTH) {
    throw new RegoError("ERR_REGO_INPUT", `value nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (v === null) return null;
  switch (typeof v) {
    case "boolean":
    case "string":
      return v;
    case "number":
      if (!Number.isFinite(v)) throw new RegoError("ERR_REGO_INPUT", "non-finite number");
      return v;
    case "bigint":
      return normBig(v);
    case "object":
      break;
    default:
      throw new RegoError("ERR_REGO_INPUT", `unsupported ${typeof v} value`);
  }
  if (Array.isArray(v)) return v.map((e) => fromJs(e, depth + 1));
  if (v instanceof ObjectValue || v instanceof SetValue) return v;
  if (v instanceof Set) return SetValue.of([...v].map((e) => fromJs(e, depth + 1)));
  const o = new ObjectValue();
  for (const k of Object.keys(v as object)) {
    const e = (v as Record<string, unknown>)[k];
    if (e === undefined) continue;
    o.set(k, fromJs(e, depth + 1));
  }
  return o;
}

/**
 * Converts a Rego value to plain JS as OPA's JSON output does: sets become arrays sorted in
 * OPA order, non-string object keys become their JSON text. Integers beyond 2^53 stay bigint.
 */
export function toJs(v: Value): JsonValue {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return (v as ArrayValue).map(toJs);
  if (v instanceof SetValue) return v.sorted().map(toJs);
  const o = v as ObjectValue;
  const out: { [key: string]: JsonValue } = {};
  for (const [k, val] of jsonEntries(o)) {
    // A "__proto__" key from untrusted JSON must stay data, never become the prototype.
    if (k === "__proto__") {
      Object.defineProperty(out, k, {
        value: toJs(val),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[k] = toJs(val);
  }
  return out;
}

/** JSON text of a Rego value (sets as sorted arrays, keys sorted), exact for big integers. */
export function toJsonText(v: Value, indent = ""): string {
  return writeJson(v, indent, "");
}

function writeJson(v: Value, indent: string, cur: string): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (isNumber(v)) return numberText(v);
  if (typeof v === "string") return JSON.stringify(v);
  const nl = indent ? `\n${cur}${indent}` : "";
  const end = indent ? `\n${cur}` : "";
  const sep = indent ? ": " : ":";
  const next = cur + indent;
  if (Array.isArray(v) || v instanceof SetValue) {
    const items = Array.isArray(v) ? (v as ArrayValue) : (v as SetValue).sorted();
    if (items.length === 0) return "[]";
    return `[${nl}${items.map((e) => writeJson(e, indent, next)).join(`,${nl}`)}${end}]`;
  }
  const o = v as ObjectValue;
  if (o.size === 0) return "{}";
  const parts = jsonEntries(o).map(
    ([k, e]) => `${JSON.stringify(k)}${sep}${writeJson(e, indent, next)}`,
  );
  return `{${nl}${parts.join(`,${nl}`)}${end}}`;
}

/**
 * Parses JSON text straight into Rego values, keeping integers beyond 2^53 exact (EAR claims
 * and OPA's suite have such numbers). Depth-limited; throws ERR_REGO_INPUT on bad text.
 */
export function parseJsonValue(text: string, maxDepth = MAX_JSON_DEPTH): Value {
  let i = 0;
  const n = text.length;
  const fail = (msg: string): never => {
    throw new RegoError("ERR_REGO_INPUT", `invalid JSON at offset ${i}: ${msg}`);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const str = (): string => {
    const start = ++i;
    let simple = true;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) break;
      if (c === 92) {
        simple = false;
        i += 2;
        continue;
      }
      if (c < 0x20) fail("control character in string");
      i++;
    }
    if (i >= n) fail("unterminated string");
    const raw = text.slice(start, i);
    i++;
    if (simple) return raw;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      return fail("bad escape in string");
    }
  };
  const num = (): Value => {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail("bad number");
    i += m[0].length;
    return parseNumberLiteral(m[0]);
  };
  const val = (depth: number): Value => {
    if (depth > maxDepth) fail(`nested deeper than ${maxDepth} levels`);
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const o = new ObjectValue();
      ws();
      if (text[i] === "}") {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected string key");
        const k = str();
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        o.set(k, val(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return o;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const a: Value[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(val(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return a;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (c === "t" && text.startsWith("true", i)) {
      i += 4;
      return true;
    }
    if (c === "f" && text.startsWith("false", i)) {
      i += 5;
      return false;
    }
    if (c === "n" && text.startsWith("null", i)) {
      i += 4;
      return null;
    }
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return num();
    return fail(c === undefined ? "unexpected end" : `unexpected '${c}'`);
  };
  const v = val(0);
  ws();
  if (i !== n) fail("trailing characters");
  return v;
}

/** Parses a JSON/Rego number literal, exact for big integers. */
export function parseNumberLiteral(s: string): number | bigint {
  if (/^-?\d+$/.test(s)) {
    const f = Number(s);
    if (Number.isSafeInteger(f)) return f;
    return normBig(BigInt(s));
  }
  const f = Number(s);
  // Integral values written with exponent/fraction beyond 2^53 stay exact when possible.
  if ((Number.isInteger(f) && !Number.isSafeInteger(f)) || !Number.isFinite(f)) {
    const m = /^(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/.exec(s);
    if (m) {
      const frac = m[3] ?? "";
      const exp = Number(m[4]) - frac.length;
      if (exp >= 0 && exp < 400) {
        const big = normBig(BigInt(`${m[1]}${m[2]}${frac}`) * 10n ** BigInt(exp));
        if (typeof big === "bigint" && !Number.isFinite(f)) rememberBigLiteral(big, s);
        return big;
      }
    }
  }
  return f;
}

/**
 * An object's entries with keys as JSON strings, sorted by that string as OPA does when it
 * turns non-string keys into strings (`{false: 1, []: 2}` → `{"[]": 2, "false": 1}`).
 */
function jsonEntries(o: ObjectValue): [string, Value][] {
  const out = o
    .sorted()
    .map(([k, v]): [string, Value] => [typeof k === "string" ? k : toJsonText(k), v]);
  if (out.some(([,], i) => typeof o.sorted()[i]![0] !== "string")) {
    out.sort((a, b) => compareStrings(a[0], b[0]));
  }
  return out;
}
