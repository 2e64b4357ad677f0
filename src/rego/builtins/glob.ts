/**
 * `glob.*` with gobwas/glob semantics (what OPA uses): `*` matches within a segment, `**`
 * across separators, `?` one non-separator character, `[abc]`/`[!a-z]` classes, `{a,b}`
 * alternatives, `\` escapes. A glob is translated to an RE2 expression and matched by the
 * linear-time engine in ./re2.ts, so hostile patterns cannot backtrack exponentially.
 */
import type { Value } from "../value/value.js";
import { argString, builtinError, operandError } from "./args.js";
import { compileGoRegexp, type GoRegexp } from "./re2.js";
import type { BuiltinTable } from "./types.js";

/** Thrown for a malformed glob; the message is reported as a builtin error. */
class GlobSyntaxError extends Error {}

/** Deepest `{...}` nesting accepted (the translation recurses per level). */
const MAX_GLOB_NESTING = 100;

const META = new Set(["*", "?", "\\", "[", "]", "{", "}"]);

/** gobwas's `QuoteMeta`: escapes `*?\[]{}`. */
export function globQuoteMeta(s: string): string {
  let out = "";
  for (const c of s) out += META.has(c) ? `\\${c}` : c;
  return out;
}

/** RE2 text for one literal code point. */
function lit(c: string): string {
  return /[A-Za-z0-9 ]/.test(c) ? c : `\\x{${c.codePointAt(0)!.toString(16)}}`;
}

/** Translates a glob to an anchored RE2 pattern (`(?s)` so `**` spans newlines too). */
export function globToRegexp(glob: string, delimiters: readonly string[]): string {
  const chars = [...glob];
  const sep = delimiters.map(lit).join("");
  const notSep = sep ? `[^${sep}]` : ".";
  let i = 0;
  let depth = 0;
  const parse = (inBraces: boolean): string => {
    let out = "";
    while (i < chars.length) {
      const c = chars[i] as string;
      if (inBraces && (c === "," || c === "}")) return out;
      i++;
      switch (c) {
        case "\\": {
          const n = chars[i++];
          if (n === undefined) throw new GlobSyntaxError("unexpected end of input after escape");
          out += lit(n);
          break;
        }
        case "*":
          if (chars[i] === "*") {
            while (chars[i] === "*") i++;
            out += ".*";
          } else out += `${notSep}*`;
          break;
        case "?":
          out += notSep;
          break;
        case "[": {
          let neg = false;
          if (chars[i] === "!") {
            neg = true;
            i++;
          }
          const items: string[] = [];
          while (i < chars.length && chars[i] !== "]") items.push(chars[i++] as string);
          if (chars[i] !== "]") throw new GlobSyntaxError("unexpected end of input: unclosed '['");
          i++;
          if (items.length === 0) throw new GlobSyntaxError("empty character class");
          let cls: string;
          if (items.length === 3 && items[1] === "-") {
            if ((items[0] as string) > (items[2] as string))
              throw new GlobSyntaxError("invalid range");
            cls = `${lit(items[0] as string)}-${lit(items[2] as string)}`;
          } else cls = items.map(lit).join("");
          out += `[${neg ? "^" : ""}${cls}]`;
          break;
        }
        case "{": {
          if (++depth > MAX_GLOB_NESTING)
            throw new GlobSyntaxError(`alternatives nested deeper than ${MAX_GLOB_NESTING}`);
          const alts: string[] = [];
          for (;;) {
            alts.push(parse(true));
            const d = chars[i++];
            if (d === "}") break;
            if (d !== ",") throw new GlobSyntaxError("unexpected end of input: unclosed '{'");
          }
          out += `(?:${alts.join("|")})`;
          depth--;
          break;
        }
        default:
          out += lit(c);
      }
    }
    if (inBraces) throw new GlobSyntaxError("unexpected end of input: unclosed '{'");
    return out;
  };
  return `(?s)^${parse(false)}$`;
}

/** `glob.match` delimiters: null means none, an empty array means ["."]. */
function delimitersOf(v: Value): string[] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw operandError("glob.match", 2, "one of {array, null}", v);
  const out = v.map((d) => {
    if (typeof d !== "string" || d.length === 0) {
      throw operandError("glob.match", 2, "array of single-character strings", d as Value);
    }
    return [...d][0] as string;
  });
  return out.length === 0 ? ["."] : out;
}

/** `glob.*` builtins. */
export const globBuiltins: BuiltinTable = {
  "glob.match": {
    arity: 3,
    fn: (args, ctx) => {
      const pattern = argString("glob.match", args, 0);
      const delims = delimitersOf(args[1] as Value);
      const s = argString("glob.match", args, 2);
      const key = `glob:${delims.join("")}:${pattern}`;
      const memo = ctx.memo ?? ctx.cache;
      let re = memo.get(key) as GoRegexp | undefined;
      if (!re) {
        try {
          re = compileGoRegexp(globToRegexp(pattern, delims));
        } catch (e) {
          throw builtinError("glob.match", (e as Error).message);
        }
        memo.set(key, re);
      }
      return re.test(s);
    },
  },
  "glob.quote_meta": {
    arity: 1,
    fn: (args) => globQuoteMeta(argString("glob.quote_meta", args, 0)),
  },
};
