import type { Value } from "../value/value.js";
import { argInt, argString, builtinError } from "./args.js";
import { GlobIntersectError, GlobIntersectLimitError, globsIntersect } from "./glob-intersect.js";
import {
  compileGoRegexp,
  expandTemplate,
  type GoRegexp,
  RegexpSyntaxError,
  regexpFor,
} from "./re2.js";
import type { BuiltinTable } from "./types.js";

/** Go's regexp.QuoteMeta: escapes `\.+*?()|[]{}^$`. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/** Go's `(*Regexp).Split(s, -1)`, including its handling of empty and edge matches. */
function goSplit(re: GoRegexp, pattern: string, s: string): string[] {
  if (pattern.length > 0 && s.length === 0) return [""];
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of re.findAllIndex(s, -1)) {
    end = m[0] as number;
    if (m[1] !== 0) out.push(s.slice(beg, end));
    beg = m[1] as number;
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

/** Go's `ReplaceAllString` with `Expand` semantics for `$1`/`${name}`. */
function goReplaceAll(re: GoRegexp, s: string, template: string): string {
  const matches = re.findAllIndex(s, -1);
  if (matches.length === 0) return s;
  let out = "";
  let last = 0;
  for (const m of matches) {
    out += s.slice(last, m[0]);
    out += expandTemplate(template, s, m, re.names);
    last = m[1] as number;
  }
  return out + s.slice(last);
}

/** First-level delimiter pairs of a template, as OPA's fork of gorilla/mux finds them. */
function delimiterIndices(s: string, start: string, end: string): number[] {
  let level = 0;
  let idx = 0;
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === start) {
      if (++level === 1) idx = i;
    } else if (s[i] === end) {
      if (--level === 0) out.push(idx, i + 1);
      else if (level < 0) throw new RegexpSyntaxError(`unbalanced braces in ${JSON.stringify(s)}`);
    }
  }
  if (level !== 0) throw new RegexpSyntaxError(`unbalanced braces in ${JSON.stringify(s)}`);
  return out;
}

/** Compiles a `regex.template_match` template: literal text plus delimited regex parts. */
function compileTemplate(tpl: string, start: string, end: string): GoRegexp {
  const idxs = delimiterIndices(tpl, start, end);
  let pattern = "^";
  let last = 0;
  for (let i = 0; i < idxs.length; i += 2) {
    const raw = tpl.slice(last, idxs[i]);
    last = idxs[i + 1] as number;
    const part = tpl.slice((idxs[i] as number) + 1, last - 1);
    // Each part must compile on its own, as upstream checks.
    compileGoRegexp(`^${part}$`);
    pattern += `${quoteMeta(raw)}(${part})`;
  }
  pattern += `${quoteMeta(tpl.slice(last))}$`;
  return compileGoRegexp(pattern);
}

/** `regex.*` builtins with Go RE2 semantics (see ./re2.ts). */
export const regexBuiltins: BuiltinTable = {
  "regex.is_valid": {
    arity: 1,
    fn: ([p]) => {
      if (typeof p !== "string") return false;
      try {
        compileGoRegexp(p);
        return true;
      } catch (e) {
        if (e instanceof RegexpSyntaxError) return false;
        throw e;
      }
    },
  },
  "regex.match": {
    arity: 2,
    fn: (args, ctx) => {
      const p = argString("regex.match", args, 0);
      const s = argString("regex.match", args, 1);
      return regexpFor("regex.match", p, ctx.memo ?? ctx.cache).test(s);
    },
  },
  "regex.split": {
    arity: 2,
    fn: (args, ctx) => {
      const p = argString("regex.split", args, 0);
      const s = argString("regex.split", args, 1);
      return goSplit(regexpFor("regex.split", p, ctx.memo ?? ctx.cache), p, s);
    },
  },
  "regex.find_n": {
    arity: 3,
    fn: (args, ctx) => {
      const p = argString("regex.find_n", args, 0);
      const s = argString("regex.find_n", args, 1);
      const n = argInt("regex.find_n", args, 2);
      const re = regexpFor("regex.find_n", p, ctx.memo ?? ctx.cache);
      return re.findAllIndex(s, n).map((m) => s.slice(m[0], m[1]));
    },
  },
  "regex.find_all_string_submatch_n": {
    arity: 3,
    fn: (args, ctx) => {
      const name = "regex.find_all_string_submatch_n";
      const p = argString(name, args, 0);
      const s = argString(name, args, 1);
      const n = argInt(name, args, 2);
      const re = regexpFor(name, p, ctx.memo ?? ctx.cache);
      return re.findAllIndex(s, n).map((m): Value[] => {
        const row: string[] = [];
        for (let g = 0; g <= re.groups; g++) {
          const a = m[2 * g] ?? -1;
          const b = m[2 * g + 1] ?? -1;
          row.push(a >= 0 && b >= 0 ? s.slice(a, b) : "");
        }
        return row;
      });
    },
  },
  "regex.replace": {
    arity: 3,
    fn: (args, ctx) => {
      const s = argString("regex.replace", args, 0);
      const p = argString("regex.replace", args, 1);
      const t = argString("regex.replace", args, 2);
      return goReplaceAll(regexpFor("regex.replace", p, ctx.memo ?? ctx.cache), s, t);
    },
  },
  "regex.globs_match": {
    arity: 2,
    fn: (args) => {
      const a = argString("regex.globs_match", args, 0);
      const b = argString("regex.globs_match", args, 1);
      try {
        return globsIntersect(a, b);
      } catch (e) {
        if (e instanceof GlobIntersectError || e instanceof GlobIntersectLimitError) {
          throw builtinError("regex.globs_match", e.message);
        }
        throw e;
      }
    },
  },
  "regex.template_match": {
    arity: 4,
    fn: (args, ctx) => {
      const name = "regex.template_match";
      const tpl = argString(name, args, 0);
      const s = argString(name, args, 1);
      const start = argString(name, args, 2);
      const end = argString(name, args, 3);
      // Upstream measures bytes and reports the start length in both messages.
      const startLen = new TextEncoder().encode(start).length;
      if (startLen !== 1) {
        throw builtinError(
          name,
          `start delimiter has to be exactly one character long but is ${startLen} long`,
        );
      }
      if (new TextEncoder().encode(end).length !== 1) {
        throw builtinError(
          name,
          `end delimiter has to be exactly one character long but is ${startLen} long`,
        );
      }
      const key = `regex-template:${start}${end}:${tpl}`;
      let re = ctx.cache.get(key) as GoRegexp | undefined;
      if (!re) {
        try {
          re = compileTemplate(tpl, start, end);
        } catch (e) {
          if (e instanceof RegexpSyntaxError) throw builtinError(name, e.message);
          throw e;
        }
        ctx.cache.set(key, re);
      }
      return re.test(s);
    },
  },
};
