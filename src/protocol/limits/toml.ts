/**
 * Limits for TOML from the network (init-data and the `cdh.toml`/`aa.toml` inside it, configs
 * fetched as resources): a linear pre-scan that follows strings and comments and counts
 * nesting, keys and string lengths, so a hostile document is refused before `smol-toml`
 * builds anything; `smol-toml`'s own `maxDepth` then bounds the real parse too.
 */
import { parse } from "smol-toml";
import { ParseLimitError, type ParseLimitErrorCode } from "./errors.js";

/** The limits. */
export interface TomlLimits {
  /** Largest document, bytes of UTF-8. */
  maxBytes: number;
  /** Deepest nesting (tables, dotted keys, arrays, inline tables). */
  maxDepth: number;
  /** Most keys (assignments and table headers) in the document. */
  maxKeys: number;
  /** Longest string, characters. */
  maxStringLength: number;
}

/** Defaults: far above any init-data or config written by hand. */
export const DEFAULT_TOML_LIMITS: Readonly<TomlLimits> = {
  maxBytes: 256 * 1024,
  maxDepth: 16,
  maxKeys: 4096,
  maxStringLength: 256 * 1024,
};

function fail(code: ParseLimitErrorCode, why: string): never {
  throw new ParseLimitError(code, `TOML ${why}`);
}

/** Checks `text` against `limits` without parsing it; throws {@link ParseLimitError}. */
export function checkTomlLimits(text: string, limits: Partial<TomlLimits> = {}): void {
  const L = { ...DEFAULT_TOML_LIMITS, ...limits };
  if (text.length > L.maxBytes || Buffer.byteLength(text, "utf8") > L.maxBytes) {
    fail("ERR_LIMIT_SIZE", `is larger than ${L.maxBytes} bytes`);
  }
  let depth = 0;
  let keys = 0;
  let dots = 0;
  const n = text.length;
  const string = (start: number, end: number) => {
    if (end - start > L.maxStringLength) {
      fail("ERR_LIMIT_STRING", `has a string longer than ${L.maxStringLength} characters`);
    }
  };
  const nest = (d: number) => {
    if (d > L.maxDepth) fail("ERR_LIMIT_DEPTH", `nests deeper than ${L.maxDepth}`);
  };
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x23) {
      // # comment to the end of the line
      const e = text.indexOf("\n", i);
      i = e < 0 ? n : e;
      continue;
    }
    if (c === 0x22 || c === 0x27) {
      const q = text[i] as string;
      const triple = text.startsWith(q.repeat(3), i);
      const open = triple ? 3 : 1;
      let j = i + open;
      for (;;) {
        const k = text.indexOf(triple ? q.repeat(3) : q, j);
        // A single-line string may not cross a newline: look for one only up to the quote
        // (searching to the end for every string would be quadratic on a long line).
        const crossesLine = !triple && text.slice(j, k < 0 ? n : k).includes("\n");
        if (k < 0 || crossesLine) {
          // Unterminated: the parser will say so; the rest is one string for the limit.
          string(i + open, n);
          i = n;
          break;
        }
        // In basic strings a backslash escapes the quote (count the run of backslashes).
        let bs = 0;
        if (q === '"') for (let b = k - 1; b >= j && text.charCodeAt(b) === 0x5c; b--) bs++;
        if (bs % 2 === 1) {
          j = k + 1;
          continue;
        }
        string(i + open, k);
        i = k + (triple ? 3 : 1);
        // A closing """ may be followed by up to two more quotes that belong to the string.
        while (triple && text[i] === q) i++;
        break;
      }
      continue;
    }
    switch (c) {
      case 0x5b: // [
      case 0x7b: // {
        depth++;
        nest(depth + dots);
        if (c === 0x7b) dots = 0;
        break;
      case 0x5d: // ]
      case 0x7d: // }
        if (depth > 0) depth--;
        break;
      case 0x2e: // . (dotted keys; also inside numbers, which only over-counts)
        dots++;
        nest(depth + dots + 1);
        break;
      case 0x3d: // =
        if (++keys > L.maxKeys) fail("ERR_LIMIT_KEYS", `has more than ${L.maxKeys} keys`);
        dots = 0;
        break;
      case 0x0a: // newline ends a key or header
      case 0x2c: // , separates inline-table entries and array items
        dots = 0;
        break;
      default:
        break;
    }
    i++;
  }
}

/** Checks the limits, then parses with `smol-toml` (`maxDepth` as well). */
export function parseTomlLimited(
  text: string,
  limits: Partial<TomlLimits> = {},
): Record<string, unknown> {
  checkTomlLimits(text, limits);
  try {
    return parse(text, { maxDepth: limits.maxDepth ?? DEFAULT_TOML_LIMITS.maxDepth }) as Record<
      string,
      unknown
    >;
  } catch (err) {
    throw new ParseLimitError(
      "ERR_LIMIT_SYNTAX",
      `not valid TOML: ${(err as Error).message.split("\n")[0]}`,
      { cause: err },
    );
  }
}
