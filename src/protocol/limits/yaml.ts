/**
 * Limits for YAML from the network (registries.d documents the guest fetches as resources):
 * a line-based pre-scan bounding size, nesting (block indentation plus flow brackets), keys,
 * aliases and line length, run before the `yaml` parser (which recurses per level) sees the
 * text. The parse itself is the caller's, with `maxAliasCount` and `uniqueKeys` (the `yaml`
 * default) so duplicate keys are errors there too.
 */
import { ParseLimitError, type ParseLimitErrorCode } from "./errors.js";

/** The limits. */
export interface YamlLimits {
  maxBytes: number;
  /** Deepest nesting (indentation levels, `- ` items and flow brackets). */
  maxDepth: number;
  /** Most mapping keys in the text. */
  maxKeys: number;
  /** Most aliases (`*name`) in the text. */
  maxAliases: number;
  /** Longest line, characters (a bound on plain and quoted scalars). */
  maxLineLength: number;
}

/** Defaults for configuration documents. */
export const DEFAULT_YAML_LIMITS: Readonly<YamlLimits> = {
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxKeys: 16_384,
  maxAliases: 10,
  maxLineLength: 64 * 1024,
};

function fail(code: ParseLimitErrorCode, why: string): never {
  throw new ParseLimitError(code, `YAML ${why}`);
}

/** Checks `text` against `limits` without parsing it; throws {@link ParseLimitError}. */
export function checkYamlLimits(text: string, limits: Partial<YamlLimits> = {}): void {
  const L = { ...DEFAULT_YAML_LIMITS, ...limits };
  if (text.length > L.maxBytes || Buffer.byteLength(text, "utf8") > L.maxBytes) {
    fail("ERR_LIMIT_SIZE", `is larger than ${L.maxBytes} bytes`);
  }
  const indents: number[] = [];
  let flow = 0;
  let keys = 0;
  let aliases = 0;
  for (const line of text.split("\n")) {
    if (line.length > L.maxLineLength) {
      fail("ERR_LIMIT_STRING", `has a line longer than ${L.maxLineLength} characters`);
    }
    const m = /^( *)((?:[-?] +)*)/.exec(line) as RegExpExecArray;
    const rest = line.slice(m[0].length);
    if (rest.trim() !== "" && !rest.trimStart().startsWith("#") && flow === 0) {
      const ind = (m[1] as string).length;
      while (indents.length > 0 && (indents[indents.length - 1] as number) >= ind) indents.pop();
      indents.push(ind);
      const items = (m[2] as string).replace(/ +/g, "").length;
      if (indents.length + items > L.maxDepth) {
        fail("ERR_LIMIT_DEPTH", `nests deeper than ${L.maxDepth}`);
      }
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
      else if (c === "[" || c === "{") {
        if (++flow + indents.length > L.maxDepth) {
          fail("ERR_LIMIT_DEPTH", `nests deeper than ${L.maxDepth}`);
        }
      } else if ((c === "]" || c === "}") && flow > 0) flow--;
      else if (c === ":" && (i + 1 === line.length || line[i + 1] === " ")) {
        if (++keys > L.maxKeys) fail("ERR_LIMIT_KEYS", `has more than ${L.maxKeys} keys`);
      } else if (c === "*" && (i === 0 || " [{,:-".includes(line[i - 1] as string))) {
        if (++aliases > L.maxAliases) {
          fail("ERR_LIMIT_ALIASES", `has more than ${L.maxAliases} aliases`);
        }
      }
    }
  }
}
