/**
 * Limits for JSON from the network, enforced while the bytes arrive, before `JSON.parse` does
 * any work: nesting depth, keys per object, total values, string length, and duplicate keys
 * (serde refuses a duplicate field in upstream's typed messages; no serde_json serialiser ever
 * emits one, so we refuse them everywhere rather than let two readers pick different values).
 *
 * {@link createJsonScanner} is not a parser: it follows strings, escapes and brackets only,
 * so a body that breaks a limit is refused after reading no more of it than the point where
 * it broke. `JSON.parse` still validates the grammar of what passes.
 */
import { ParseLimitError } from "./errors.js";

/** The limits; every field bounds work an unauthenticated client can cause. */
export interface JsonLimits {
  /** Largest document, bytes. */
  maxBytes: number;
  /** Deepest nesting of objects and arrays (the top-level value is depth 1). */
  maxDepth: number;
  /** Most keys in one object. */
  maxKeysPerObject: number;
  /** Most values in the document (counted as containers opened plus separators). */
  maxValues: number;
  /** Longest string (key or value), in bytes of the encoded source. */
  maxStringBytes: number;
}

/** Defaults for request bodies: generous for real evidence, small against hostile nesting. */
export const DEFAULT_JSON_LIMITS: Readonly<JsonLimits> = {
  maxBytes: 2 * 1024 * 1024,
  maxDepth: 32,
  maxKeysPerObject: 1024,
  maxValues: 131_072,
  maxStringBytes: 2 * 1024 * 1024,
};

/** Feeds bytes as they arrive; throws {@link ParseLimitError} at the first limit broken. */
export interface JsonScanner {
  push(chunk: Uint8Array): void;
  /** Bytes seen so far. */
  readonly bytes: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function fail(code: ConstructorParameters<typeof ParseLimitError>[0], why: string): never {
  throw new ParseLimitError(code, `JSON ${why}`);
}

/** Keys of one open object: a short list while small, a set once larger. */
type Keys = string[] | Set<string>;
const LIST_MAX = 16;

/** Creates a scanner enforcing `limits` (missing fields take {@link DEFAULT_JSON_LIMITS}). */
export function createJsonScanner(limits: Partial<JsonLimits> = {}): JsonScanner {
  const L = { ...DEFAULT_JSON_LIMITS, ...limits };
  // One entry per open container: its keys (objects) or null (arrays).
  const stack: Array<Keys | null> = [];
  let expectKey = false;
  let inString = false;
  let escaped = false;
  let stringIsKey = false;
  let keyHasEscape = false;
  let stringBytes = 0;
  // A key split across chunks: its earlier parts.
  let keyParts: Buffer[] = [];
  let values = 0;
  let total = 0;

  const addKey = (raw: string) => {
    let key = raw;
    if (keyHasEscape) {
      try {
        key = JSON.parse(`"${raw}"`) as string;
      } catch {
        // A bad escape: JSON.parse of the whole document will refuse it.
      }
    }
    const top = stack.length - 1;
    const keys = stack[top] as Keys;
    const count = Array.isArray(keys) ? keys.length : keys.size;
    if (count >= L.maxKeysPerObject) {
      fail("ERR_LIMIT_KEYS", `object has more than ${L.maxKeysPerObject} keys`);
    }
    if (Array.isArray(keys)) {
      if (keys.includes(key)) fail("ERR_LIMIT_DUPLICATE_KEY", "object names a key twice");
      keys.push(key);
      if (keys.length > LIST_MAX) stack[top] = new Set(keys);
      return;
    }
    if (keys.has(key)) fail("ERR_LIMIT_DUPLICATE_KEY", "object names a key twice");
    keys.add(key);
  };

  const open = (object: boolean) => {
    if (stack.length >= L.maxDepth) fail("ERR_LIMIT_DEPTH", `nests deeper than ${L.maxDepth}`);
    stack.push(object ? [] : null);
    expectKey = object;
    if (++values > L.maxValues) fail("ERR_LIMIT_VALUES", `has more than ${L.maxValues} values`);
  };

  return {
    get bytes() {
      return total;
    },
    push(chunk) {
      total += chunk.length;
      if (total > L.maxBytes) fail("ERR_LIMIT_SIZE", `is larger than ${L.maxBytes} bytes`);
      const buf = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const n = buf.length;
      let i = 0;
      // Where the current key's bytes start in this chunk.
      let keyStart = 0;
      // The next quote in this chunk once searched for natively (n: none), so that a long
      // string with many escapes is searched once, not once per escape.
      let nextQuote = -1;
      while (i < n) {
        if (inString) {
          if (escaped) {
            // The escaped byte (for \uXXXX the u; the hex digits are ordinary bytes).
            escaped = false;
            i++;
            stringBytes++;
            continue;
          }
          // Find the next quote or backslash: a short loop in JS, then native searches for
          // long strings. Every byte is looked at a bounded number of times (linear).
          let j = i;
          const lim = Math.min(n, i + 64);
          while (j < lim) {
            const c = buf[j] as number;
            if (c === QUOTE || c === BACKSLASH) break;
            j++;
          }
          if (j === lim && lim < n) {
            if (nextQuote < j) {
              nextQuote = buf.indexOf(QUOTE, j);
              if (nextQuote < 0) nextQuote = n;
            }
            const at = nextQuote > j ? buf.subarray(j, nextQuote).indexOf(BACKSLASH) : -1;
            j = at >= 0 ? j + at : nextQuote;
          }
          stringBytes += j - i;
          if (stringBytes > L.maxStringBytes) {
            fail("ERR_LIMIT_STRING", `has a string longer than ${L.maxStringBytes} bytes`);
          }
          if (j === n) break;
          if (buf[j] === BACKSLASH) {
            escaped = true;
            if (stringIsKey) keyHasEscape = true;
            stringBytes++;
            i = j + 1;
            continue;
          }
          inString = false;
          if (stringIsKey) {
            if (keyParts.length === 0) addKey(buf.toString("utf8", keyStart, j));
            else {
              keyParts.push(buf.subarray(keyStart, j));
              addKey(Buffer.concat(keyParts).toString("utf8"));
              keyParts = [];
            }
          }
          i = j + 1;
          continue;
        }
        const c = buf[i] as number;
        i++;
        switch (c) {
          case QUOTE:
            inString = true;
            stringBytes = 0;
            stringIsKey = expectKey && stack[stack.length - 1] != null;
            if (stringIsKey) {
              keyStart = i;
              keyHasEscape = false;
            }
            expectKey = false;
            break;
          case 0x7b: // {
            open(true);
            break;
          case 0x5b: // [
            open(false);
            break;
          case 0x7d: // }
          case 0x5d: // ]
            stack.pop();
            expectKey = false;
            break;
          case 0x2c: // ,
            expectKey = stack[stack.length - 1] != null;
            if (++values > L.maxValues) {
              fail("ERR_LIMIT_VALUES", `has more than ${L.maxValues} values`);
            }
            break;
          case 0x3a: // :
            expectKey = false;
            break;
          default:
            break;
        }
      }
      // A key that goes on in the next chunk: keep (a copy of) its bytes so far.
      if (inString && stringIsKey && keyStart < n) {
        keyParts.push(Buffer.from(buf.subarray(keyStart, n)));
      }
    },
  };
}

/**
 * Decodes and parses bytes a {@link JsonScanner} has already accepted: invalid UTF-8 or JSON
 * is ERR_LIMIT_SYNTAX naming only the byte offset (V8's message would quote the input).
 */
export function parseScannedJson(input: Uint8Array | string): unknown {
  let text: string;
  if (typeof input === "string") text = input;
  else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      throw new ParseLimitError("ERR_LIMIT_SYNTAX", "not valid UTF-8");
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new ParseLimitError(
      "ERR_LIMIT_SYNTAX",
      `not valid JSON${at !== undefined ? ` (at byte ${at})` : ""}`,
    );
  }
}

/** Checks `input` against `limits`, then parses it (errors as {@link parseScannedJson}). */
export function parseJsonLimited(
  input: Uint8Array | string,
  limits: Partial<JsonLimits> = {},
): unknown {
  createJsonScanner(limits).push(typeof input === "string" ? Buffer.from(input, "utf8") : input);
  return parseScannedJson(input);
}
