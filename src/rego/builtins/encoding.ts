import { RegoError } from "../errors.js";
import { ObjectValue, SetValue, type Value } from "../value/value.js";
import { argObject, argString, builtinError } from "./args.js";
import {
  Base64Error,
  base64Decode,
  base64Encode,
  fromUtf8,
  hexDecode,
  hexEncode,
  RAW_URL,
  STD,
  URL,
  utf8,
} from "./gobase64.js";
import type { BuiltinTable } from "./types.js";

/** OPA's `builtins.NewOperandErr`: an `eval_type_error` with free text after the operand. */
export function operandMessage(name: string, pos: number, message: string): RegoError {
  return new RegoError("ERR_REGO_TYPE", `${name}: operand ${pos} ${message}`);
}

/** Runs a Go decoder, turning its error text into a builtin error. */
function decoding<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof Base64Error || (e instanceof Error && e.message.startsWith("encoding/hex"))) {
      throw builtinError(name, e.message);
    }
    throw e;
  }
}

const HEX_UPPER = "0123456789ABCDEF";

/** Go's `url.QueryEscape`: unreserved bytes stay, space becomes `+`, the rest `%XX`. */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of utf8(s)) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d ||
      b === 0x2e ||
      b === 0x5f ||
      b === 0x7e;
    if (unreserved) out += String.fromCharCode(b);
    else if (b === 0x20) out += "+";
    else out += `%${HEX_UPPER[b >> 4]}${HEX_UPPER[b & 15]}`;
  }
  return out;
}

const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** Go's `url.QueryUnescape`; throws Go's `invalid URL escape "%zz"` text. */
export function queryUnescape(s: string): string {
  const bytes: number[] = [];
  const raw = utf8(s);
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i] as number;
    if (b === 0x25) {
      const h = String.fromCharCode(raw[i + 1] ?? 0);
      const l = String.fromCharCode(raw[i + 2] ?? 0);
      if (i + 2 >= raw.length || !isHex(h) || !isHex(l)) {
        const bad = fromUtf8(raw.subarray(i, Math.min(i + 3, raw.length)));
        throw new Error(`invalid URL escape ${JSON.stringify(bad)}`);
      }
      bytes.push(Number.parseInt(h + l, 16));
      i += 2;
    } else bytes.push(b === 0x2b ? 0x20 : b);
  }
  return fromUtf8(Uint8Array.from(bytes));
}

/** Go's `url.ParseQuery`: keys in first-seen order, each with its values. */
export function parseQuery(q: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  let err: Error | undefined;
  for (const part of q === "" ? [] : q.split("&")) {
    if (part.includes(";")) {
      err ??= new Error("invalid semicolon separator in query");
      continue;
    }
    if (part === "") continue;
    const eq = part.indexOf("=");
    try {
      const k = queryUnescape(eq < 0 ? part : part.slice(0, eq));
      const v = queryUnescape(eq < 0 ? "" : part.slice(eq + 1));
      const list = m.get(k);
      if (list) list.push(v);
      else m.set(k, [v]);
    } catch (e) {
      err ??= e as Error;
    }
  }
  if (err) throw err;
  return m;
}

function urlQuery<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RegoError) throw e;
    throw builtinError(name, (e as Error).message);
  }
}

/** `urlquery.encode_object`: Go's `url.Values.Encode()` (keys sorted, values in order). */
function encodeObject(obj: ObjectValue): string {
  const name = "urlquery.encode_object";
  const err = () => operandMessage(name, 1, "values must be string, array[string], or set[string]");
  const entries: [string, string[]][] = [];
  for (const [k, v] of obj.sorted()) {
    if (typeof k !== "string") throw operandMessage(name, 1, "must be object with string keys");
    let vals: string[];
    if (typeof v === "string") vals = [v];
    else if (Array.isArray(v) || v instanceof SetValue) {
      const items = Array.isArray(v) ? v : v.sorted();
      vals = items.map((e) => {
        if (typeof e !== "string") throw err();
        return e;
      });
    } else throw err();
    entries.push([k, vals]);
  }
  // Go sorts keys byte-wise; obj.sorted() is OPA's order, which for strings is the same.
  const parts: string[] = [];
  for (const [k, vals] of entries) {
    for (const v of vals) parts.push(`${queryEscape(k)}=${queryEscape(v)}`);
  }
  return parts.join("&");
}

/** `base64.*`, `base64url.*`, `hex.*` and `urlquery.*` with Go's encodings and error texts. */
export const encodingBuiltins: BuiltinTable = {
  "base64.encode": {
    arity: 1,
    fn: (args) => base64Encode(STD, utf8(argString("base64.encode", args, 0))),
  },
  "base64.decode": {
    arity: 1,
    fn: (args) => {
      const s = argString("base64.decode", args, 0);
      return fromUtf8(decoding("base64.decode", () => base64Decode(STD, utf8(s))));
    },
  },
  "base64.is_valid": {
    arity: 1,
    fn: ([s]) => {
      if (typeof s !== "string") return false;
      try {
        base64Decode(STD, utf8(s));
        return true;
      } catch (e) {
        if (e instanceof Base64Error) return false;
        throw e;
      }
    },
  },
  "base64url.encode": {
    arity: 1,
    fn: (args) => base64Encode(URL, utf8(argString("base64url.encode", args, 0))),
  },
  "base64url.encode_no_pad": {
    arity: 1,
    fn: (args) => base64Encode(RAW_URL, utf8(argString("base64url.encode_no_pad", args, 0))),
  },
  "base64url.decode": {
    arity: 1,
    fn: (args) => {
      const name = "base64url.decode";
      let s = argString(name, args, 0);
      // RFC 7515 Appendix C: restore omitted padding, as upstream does (byte length).
      if (!s.endsWith("=")) {
        const r = utf8(s).length % 4;
        if (r === 2) s += "==";
        else if (r === 3) s += "=";
        else if (r === 1) throw builtinError(name, `illegal base64url string: ${s}`);
      }
      const padded = s;
      return fromUtf8(decoding(name, () => base64Decode(URL, utf8(padded))));
    },
  },
  "hex.encode": { arity: 1, fn: (args) => hexEncode(utf8(argString("hex.encode", args, 0))) },
  "hex.decode": {
    arity: 1,
    fn: (args) => {
      const s = argString("hex.decode", args, 0);
      return fromUtf8(decoding("hex.decode", () => hexDecode(utf8(s))));
    },
  },
  "urlquery.encode": {
    arity: 1,
    fn: (args) => queryEscape(argString("urlquery.encode", args, 0)),
  },
  "urlquery.decode": {
    arity: 1,
    fn: (args) => {
      const s = argString("urlquery.decode", args, 0);
      return urlQuery("urlquery.decode", () => queryUnescape(s));
    },
  },
  "urlquery.encode_object": {
    arity: 1,
    fn: (args) => encodeObject(argObject("urlquery.encode_object", args, 0)),
  },
  "urlquery.decode_object": {
    arity: 1,
    fn: (args): Value => {
      const s = argString("urlquery.decode_object", args, 0);
      const m = urlQuery("urlquery.decode_object", () => parseQuery(s));
      const o = new ObjectValue();
      for (const [k, v] of m) o.set(k, v);
      return o;
    },
  },
};
