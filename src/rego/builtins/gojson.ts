/**
 * Go's `encoding/json` output for Rego values, as OPA's `json.marshal*` and `yaml.marshal`
 * produce it: object keys sorted byte-wise, sets as sorted arrays, HTML-safe escaping of
 * `<`, `>`, `&`, U+2028 and U+2029, and `MarshalIndent`'s prefix/indent layout.
 */
import { RegoError } from "../errors.js";
import { parseJsonValue } from "../value/json.js";
import {
  compareStrings,
  isNumber,
  numberText,
  ObjectValue,
  SetValue,
  type Value,
} from "../value/value.js";

/** Go's string escaping with `SetEscapeHTML(true)` (the `json.Marshal` default). */
export function goQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += "\\\\";
        continue;
      case 0x0a:
        out += "\\n";
        continue;
      case 0x0d:
        out += "\\r";
        continue;
      case 0x09:
        out += "\\t";
        continue;
      case 0x08:
        out += "\\b";
        continue;
      case 0x0c:
        out += "\\f";
        continue;
      case 0x3c:
      case 0x3e:
      case 0x26:
      case 0x2028:
      case 0x2029:
        out += `\\u${c.toString(16).padStart(4, "0")}`;
        continue;
    }
    if (c < 0x20) out += `\\u00${c.toString(16).padStart(2, "0")}`;
    else if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate is invalid UTF-8 in Go: it becomes U+FFFD.
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += "\ufffd";
    } else out += s[i];
  }
  return `${out}"`;
}

/** JSON key text of an object key: strings as is, other values as their JSON text. */
export function keyText(k: Value): string {
  return typeof k === "string" ? k : goJson(k);
}

/**
 * Go's `json.Marshal` (no indent) or `json.MarshalIndent(v, prefix, indent)` of a Rego value.
 * As in Go, the prefix is not written before the first line.
 */
export function goJson(v: Value, indent?: { prefix: string; indent: string }): string {
  const write = (x: Value, depth: number): string => {
    if (x === null) return "null";
    if (typeof x === "boolean") return x ? "true" : "false";
    if (isNumber(x)) return numberText(x);
    if (typeof x === "string") return goQuote(x);
    const nl = indent ? `\n${indent.prefix}${indent.indent.repeat(depth + 1)}` : "";
    const end = indent ? `\n${indent.prefix}${indent.indent.repeat(depth)}` : "";
    const sep = indent ? ": " : ":";
    if (Array.isArray(x) || x instanceof SetValue) {
      const items = Array.isArray(x) ? x : x.sorted();
      if (items.length === 0) return "[]";
      return `[${nl}${items.map((e) => write(e, depth + 1)).join(`,${nl}`)}${end}]`;
    }
    const o = x as ObjectValue;
    if (o.size === 0) return "{}";
    const entries = o.sorted().map(([k, e]) => [keyText(k), e] as [string, Value]);
    entries.sort((a, b) => compareStrings(a[0], b[0]));
    const parts = entries.map(([k, e]) => `${goQuote(k)}${sep}${write(e, depth + 1)}`);
    return `{${nl}${parts.join(`,${nl}`)}${end}}`;
  };
  return write(v, 0);
}

/**
 * Parses JSON text into a Rego value (integers beyond 2^53 stay exact); throws an Error with
 * a short reason when the text is not one JSON value.
 */
export function parseGoJson(text: string): Value {
  try {
    return parseJsonValue(text);
  } catch (e) {
    // Report Go's wording (OPA's messages carry it); depth limits keep our own text.
    if (e instanceof RegoError) {
      throw new Error(
        /nested deeper/.test(e.message) ? e.message : (goJsonSyntaxError(text) ?? e.message),
      );
    }
    throw e;
  }
}

/** Deep-converts object keys to their JSON text form, as a JSON round trip does in Go. */
export function asJsonValue(v: Value): Value {
  if (Array.isArray(v)) return v.map(asJsonValue);
  if (v instanceof SetValue) return v.sorted().map(asJsonValue);
  if (v instanceof ObjectValue) {
    const o = new ObjectValue();
    for (const [k, e] of v.sorted()) o.set(keyText(k), asJsonValue(e));
    return o;
  }
  return v;
}

/** Go's `quoteChar`: the offending byte as `'x'` (`'\''`, `'"'`, or a Go-quoted escape). */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const code = c.charCodeAt(0);
  if (code === 7) return "'\\a'";
  if (code === 11) return "'\\v'";
  const q = JSON.stringify(c).slice(1, -1);
  // Go writes other control characters as \xNN where JSON has \u00NN.
  return `'${/^\\u00[0-9a-f]{2}$/.test(q) ? `\\x${q.slice(4)}` : q}'`;
}

/**
 * The error Go's `encoding/json` reports for invalid JSON text (`invalid character 'x' looking
 * for beginning of value`, `unexpected end of JSON input`, ...), for OPA-compatible messages.
 * Returns undefined when the text is valid.
 */
export function goJsonSyntaxError(text: string): string | undefined {
  let i = 0;
  const n = text.length;
  class Stop extends Error {}
  const bad = (ctx: string): never => {
    throw new Stop(`invalid character ${quoteChar(text[i] as string)} ${ctx}`);
  };
  const eof = (): never => {
    throw new Stop("unexpected end of JSON input");
  };
  const ws = () => {
    while (i < n && " \t\r\n".includes(text[i] as string)) i++;
  };
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (i >= n) eof();
      if (text[i] !== word[k])
        bad(`in literal ${word} (expecting ${quoteChar(word[k] as string)})`);
    }
    i++;
  };
  const number = () => {
    if (text[i] === "-") {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i] as string)) bad("in numeric literal");
    }
    if (text[i] === "0") i++;
    else while (i < n && /[0-9]/.test(text[i] as string)) i++;
    if (text[i] === ".") {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i] as string)) bad("after decimal point in numeric literal");
      while (i < n && /[0-9]/.test(text[i] as string)) i++;
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i] as string)) bad("in exponent of numeric literal");
      while (i < n && /[0-9]/.test(text[i] as string)) i++;
    }
  };
  const string = () => {
    i++;
    for (;;) {
      if (i >= n) eof();
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return;
      }
      if (c < " ") bad("in string literal");
      if (c === "\\") {
        i++;
        if (i >= n) eof();
        const e = text[i] as string;
        if (e === "u") {
          for (let k = 0; k < 4; k++) {
            i++;
            if (i >= n) eof();
            if (!/[0-9a-fA-F]/.test(text[i] as string)) bad("in \\u hexadecimal character escape");
          }
        } else if (!'"\\/bfnrt'.includes(e)) bad("in string escape code");
      }
      i++;
    }
  };
  const value = (depth: number): void => {
    if (depth > 10000) throw new Stop("exceeded max depth");
    ws();
    if (i >= n) eof();
    const c = text[i] as string;
    if (c === "{") {
      i++;
      ws();
      if (i >= n) eof();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (i >= n) eof();
        if (text[i] !== '"') bad("looking for beginning of object key string");
        string();
        ws();
        if (i >= n) eof();
        if (text[i] !== ":") bad("after object key");
        i++;
        value(depth + 1);
        ws();
        if (i >= n) eof();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        bad("after object key:value pair");
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (i >= n) eof();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (i >= n) eof();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        bad("after array element");
      }
    }
    if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === "-" || (c >= "0" && c <= "9")) number();
    else bad("looking for beginning of value");
  };
  try {
    value(0);
    ws();
    if (i < n) bad("after top-level value");
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return e.message;
    throw e;
  }
}
