/**
 * The one wrapper over `re2js` (a port of Go's `regexp`, i.e. RE2 syntax with linear-time
 * matching). Rego's `regex.*` builtins are defined by Go's regexp package, so every regex in
 * the builtins goes through here. Indices are UTF-16 offsets into the JS string.
 */
import { RE2JS, RE2JSException } from "re2js";
import { builtinError } from "./args.js";

/** Longest pattern accepted, so a hostile policy cannot make compilation allocate without bound. */
export const MAX_PATTERN_LENGTH = 64 * 1024;

/** A compiled Go-syntax regular expression. */
export interface GoRegexp {
  /** True when the pattern matches anywhere in `s` (Go `MatchString`). */
  test(s: string): boolean;
  /** Go `FindAllStringSubmatchIndex(s, n)`: pairs of [start, end) per group, -1 when unset. */
  findAllIndex(s: string, n: number): number[][];
  /** Number of capture groups (not counting group 0). */
  readonly groups: number;
  /** Capture group names to their index (Go `SubexpNames`). */
  readonly names: Readonly<Record<string, number>>;
}

/** Thrown by {@link compileGoRegexp}: Go's error text, e.g. "error parsing regexp: missing closing ): `(`". */
export class RegexpSyntaxError extends Error {}

/**
 * Compiles `pattern` with Go's regexp syntax. Throws {@link RegexpSyntaxError} with Go's
 * message text when the pattern is invalid.
 */
export function compileGoRegexp(pattern: string): GoRegexp {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new RegexpSyntaxError(
      `error parsing regexp: expression too large (${pattern.length} > ${MAX_PATTERN_LENGTH} characters)`,
    );
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    if (e instanceof RE2JSException) throw new RegexpSyntaxError(e.message);
    throw e;
  }
  const inner = re.re2();
  const groups = re.groupCount();
  const names = { ...re.namedGroups() };
  return {
    groups,
    names,
    test: (s) => re.test(s),
    findAllIndex: (s, n) => (inner.findAllSubmatchIndex(s, n) as number[][] | null) ?? [],
  };
}

/**
 * Compiles `pattern` for builtin `name`, memoised in the per-query cache; an invalid pattern
 * becomes OPA's `eval_builtin_error` with Go's text.
 */
export function regexpFor(name: string, pattern: string, cache: Map<string, unknown>): GoRegexp {
  const key = `regex:${pattern}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit as GoRegexp;
  let re: GoRegexp;
  try {
    re = compileGoRegexp(pattern);
  } catch (e) {
    if (e instanceof RegexpSyntaxError) throw builtinError(name, e.message);
    throw e;
  }
  cache.set(key, re);
  return re;
}

/**
 * Go's `Regexp.Expand` template: `$1`, `${1}`, `$name`, `${name}`, `$$`. A name is the longest
 * run of letters, digits and `_`; an unknown or malformed reference expands to "".
 */
export function expandTemplate(
  template: string,
  src: string,
  match: readonly number[],
  names: Readonly<Record<string, number>>,
): string {
  let out = "";
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf("$", i);
    if (d < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === "$") {
      out += "$";
      i++;
      continue;
    }
    let name: string | undefined;
    if (template[i] === "{") {
      const close = template.indexOf("}", i + 1);
      const inner = close < 0 ? "" : template.slice(i + 1, close);
      if (close > 0 && /^[A-Za-z0-9_]+$/.test(inner)) {
        name = inner;
        i = close + 1;
      }
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i));
      if (m) {
        name = m[0];
        i += name.length;
      }
    }
    if (name === undefined) {
      // Go: a malformed reference is copied literally (the "$" included).
      out += "$";
      continue;
    }
    let g: number | undefined;
    if (/^[0-9]+$/.test(name) && !(name.length > 1 && name[0] === "0")) {
      const n = Number(name);
      g = Number.isSafeInteger(n) ? n : undefined;
    } else {
      g = names[name];
    }
    if (g === undefined || 2 * g + 1 >= match.length) continue;
    const s = match[2 * g] as number;
    const e = match[2 * g + 1] as number;
    if (s >= 0 && e >= 0) out += src.slice(s, e);
  }
  return out;
}
