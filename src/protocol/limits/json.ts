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

/** Creates a scanner enforcing `limits` (missing fields take {@link DEFAULT_JSON_LIMITS}). */
export function createJsonScanner(limits: Partial<JsonLimits> = {}): JsonScanner {
  const L = { ...DEFAULT_JSON_LIMITS, ...limits };
  // One entry per open container: object (true) or array (false), with the object's keys.
  const isObject: boolean[] = [];
  const keyCount: number[] = [];
  const firstKey: Array<string | undefined> = [];
  const keySets: Array<Set<string> | undefined> = [];
  let expectKey = false;
  let inString = false;
  let escaped = false;
  let stringIsKey = false;
  let stringBytes = 0;
  let keyParts: Buffer[] = [];
  let values = 0;
  let total = 0;

  const addKey = (raw: Buffer) => {
    const top = isObject.length - 1;
    const n = (keyCount[top] ?? 0) + 1;
    keyCount[top] = n;
    if (n > L.maxKeysPerObject) {
      fail("ERR_LIMIT_KEYS", `object has more than ${L.maxKeysPerObject} keys`);
    }
    let key = raw.toString("utf8");
    if (raw.includes(BACKSLASH)) {
      try {
        key = JSON.parse(`"${key}"`) as string;
      } catch {
        // A bad escape: JSON.parse of the whole document will refuse it.
      }
    }
    if (n === 1) {
      firstKey[top] = key;
      return;
    }
    let set = keySets[top];
    if (set === undefined) {
      set = new Set([firstKey[top] as string]);
      keySets[top] = set;
    }
    if (set.has(key)) fail("ERR_LIMIT_DUPLICATE_KEY", "object names a key twice");
    set.add(key);
  };

  const open = (object: boolean) => {
    if (isObject.length >= L.maxDepth) fail("ERR_LIMIT_DEPTH", `nests deeper than ${L.maxDepth}`);
    isObject.push(object);
    keyCount.push(0);
    firstKey.push(undefined);
    keySets.push(undefined);
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
      let i = 0;
      const n = buf.length;
      while (i < n) {
        if (inString) {
          if (escaped) {
            escaped = false;
            if (stringIsKey) keyParts.push(buf.subarray(i, i + 1));
            i++;
            stringBytes++;
            continue;
          }
          // Jump to the next quote or backslash (native search: long strings cost little).
          let q = buf.indexOf(QUOTE, i);
          const b = buf.indexOf(BACKSLASH, i);
          if (q < 0) q = n;
          const stop = b >= 0 && b < q ? b : q;
          stringBytes += stop - i;
          if (stringBytes > L.maxStringBytes) {
            fail("ERR_LIMIT_STRING", `has a string longer than ${L.maxStringBytes} bytes`);
          }
          if (stringIsKey && stop > i) keyParts.push(buf.subarray(i, stop));
          if (stop === n) return;
          if (stop === b) {
            if (stringIsKey) keyParts.push(buf.subarray(b, b + 1));
            escaped = true;
            stringBytes++;
            i = b + 1;
            continue;
          }
          inString = false;
          if (stringIsKey) {
            addKey(keyParts.length === 1 ? (keyParts[0] as Buffer) : Buffer.concat(keyParts));
            keyParts = [];
          }
          i = q + 1;
          continue;
        }
        const c = buf[i] as number;
        i++;
        switch (c) {
          case QUOTE:
            inString = true;
            stringBytes = 0;
            stringIsKey = expectKey && isObject[isObject.length - 1] === true;
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
            isObject.pop();
            keyCount.pop();
            firstKey.pop();
            keySets.pop();
            expectKey = false;
            break;
          case 0x2c: // ,
            expectKey = isObject[isObject.length - 1] === true;
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
