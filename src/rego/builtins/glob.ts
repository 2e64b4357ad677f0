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
  // gobwas's error text: the position is in characters, just after what was read.
  const syntax = (msg: string) =>
    new GlobSyntaxError(`glob: syntax error at ${Math.min(i, chars.length)}: ${msg}`);
  const parse = (inBraces: boolean): string => {
    let out = "";
    while (i < chars.length) {
      const c = chars[i] as string;
      if (inBraces && (c === "," || c === "}")) return out;
      i++;
      switch (c) {
        case "\\": {
          const n = chars[i++];
          if (n === undefined) throw syntax("trailing backslash");
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
          // gobwas's range lexer: `[!`? then `lo-hi]` or text up to `]`.
          let neg = false;
          const read = () => chars[i++];
          let r = read();
          if (r === undefined) throw syntax("unexpected end of input");
          if (r === "!") {
            neg = true;
            r = read();
            if (r === undefined) throw syntax("unexpected end of input");
          }
          let cls: string;
          if (chars[i] === "-") {
            i++;
            const hi = read();
            if (hi === undefined) throw syntax("unexpected end of input");
            const close = read();
            if (close === undefined) throw syntax("unexpected end of input");
            if (close !== "]") throw syntax("expected close range character");
            if ((hi.codePointAt(0) as number) < (r.codePointAt(0) as number)) {
              throw syntax("range hi character is less than lo");
            }
            cls = `${lit(r)}-${lit(hi)}`;
          } else {
            i--;
            const items: string[] = [];
            while (i < chars.length && chars[i] !== "]") {
              if (chars[i] === "\\" && i + 1 < chars.length) i++;
              items.push(chars[i++] as string);
            }
            if (read() !== "]") throw syntax("unexpected end of input");
            if (items.length === 0) throw syntax("could not parse range");
            cls = items.map(lit).join("");
          }
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
            if (d !== ",") throw syntax("unclosed `{`");
          }
          out += `(?:${alts.join("|")})`;
          depth--;
          break;
        }
        default:
          out += lit(c);
      }
    }
    if (inBraces) throw syntax("unclosed `{`");
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
