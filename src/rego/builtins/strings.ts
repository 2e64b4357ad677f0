import { RegoError } from "../errors.js";
import { ObjectValue, SetValue, typeName, type Value } from "../value/value.js";
import { argArray, argInt, argString, builtinError, operandError } from "./args.js";
import { sprintf } from "./sprintf.js";
import { renderTemplate } from "./template.js";
import type { BuiltinTable } from "./types.js";
import { isAscii, runes } from "./util.js";

const s1 = (name: string, f: (s: string) => Value) => ({
  arity: 1,
  fn: (args: readonly Value[]) => f(argString(name, args, 0)),
});
const s2 = (name: string, f: (a: string, b: string) => Value) => ({
  arity: 2,
  fn: (args: readonly Value[]) => f(argString(name, args, 0), argString(name, args, 1)),
});

function stringsOf(name: string, args: readonly Value[], i: number): string[] {
  const v = args[i] as Value;
  if (typeof v === "string") return [v];
  if (Array.isArray(v) || v instanceof SetValue) {
    const items = Array.isArray(v) ? v : v.sorted();
    return items.map((e) => {
      if (typeof e !== "string") {
        const kind = Array.isArray(v) ? "array" : "set";
        throw new RegoError(
          "ERR_REGO_TYPE",
          `${name}: operand ${i + 1} must be ${kind} of strings but got ${kind} containing ${typeName(e)}`,
        );
      }
      return e;
    });
  }
  throw operandError(name, i + 1, "one of {string, set, array}", v);
}

function trimSet(cut: string): Set<string> {
  return new Set(runes(cut));
}

function trimLeft(s: string, cut: string): string {
  const set = trimSet(cut);
  const r = runes(s);
  let i = 0;
  while (i < r.length && set.has(r[i]!)) i++;
  return r.slice(i).join("");
}

function trimRight(s: string, cut: string): string {
  const set = trimSet(cut);
  const r = runes(s);
  let j = r.length;
  while (j > 0 && set.has(r[j - 1]!)) j--;
  return r.slice(0, j).join("");
}

/** Index in code points of `sub` in `s` from code point `from`, or -1. */
function runeIndexOf(s: string, sub: string, from = 0): number {
  if (isAscii(s)) return s.indexOf(sub, from);
  const r = runes(s);
  const u = r.slice(from).join("").indexOf(sub);
  if (u < 0) return -1;
  return from + runes(r.slice(from).join("").slice(0, u)).length;
}

/** String builtins (plus sprintf). */
export const stringBuiltins: BuiltinTable = {
  concat: {
    arity: 2,
    fn: (args) => {
      const sep = argString("concat", args, 0);
      const v = args[1] as Value;
      if (!(Array.isArray(v) || v instanceof SetValue))
        throw operandError("concat", 2, "one of {array, set}", v);
      const items = Array.isArray(v) ? v : v.sorted();
      return items
        .map((e) => {
          if (typeof e !== "string")
            throw operandError("concat", 2, "one of {array, set} of strings", v);
          return e;
        })
        .join(sep);
    },
  },
  contains: s2("contains", (a, b) => a.includes(b)),
  startswith: s2("startswith", (a, b) => a.startsWith(b)),
  endswith: s2("endswith", (a, b) => a.endsWith(b)),
  lower: s1("lower", (s) => s.toLowerCase()),
  upper: s1("upper", (s) => s.toUpperCase()),
  indexof: s2("indexof", (a, b) => runeIndexOf(a, b)),
  indexof_n: s2("indexof_n", (a, b) => {
    const out: number[] = [];
    if (b === "") return Object.freeze(out);
    let i = runeIndexOf(a, b);
    while (i >= 0) {
      out.push(i);
      i = runeIndexOf(a, b, i + 1);
    }
    return Object.freeze(out);
  }),
  split: s2("split", (a, b) => {
    if (b === "") return Object.freeze(runes(a));
    return Object.freeze(a.split(b));
  }),
  replace: {
    arity: 3,
    fn: (args) => {
      const s = argString("replace", args, 0);
      const old = argString("replace", args, 1);
      const neu = argString("replace", args, 2);
      if (old === "") {
        // Go's strings.Replace with empty old inserts at every rune boundary.
        const r = runes(s);
        return neu + r.map((c) => c + neu).join("");
      }
      if (!s.includes(old)) return s;
      // A function replacement keeps `$&`-style sequences in `neu` literal.
      return s.replaceAll(old, () => neu);
    },
  },
  "strings.replace_n": {
    arity: 2,
    fn: (args) => {
      const pats = args[0] as Value;
      if (!(pats instanceof ObjectValue))
        throw operandError("strings.replace_n", 1, "object", pats);
      let s = argString("strings.replace_n", args, 1);
      const pairs: [string, string][] = [];
      for (const [k, v] of pats.sorted()) {
        if (typeof k !== "string") {
          throw new RegoError(
            "ERR_REGO_TYPE",
            "strings.replace_n: operand 1 non-string key found in pattern object",
          );
        }
        if (typeof v !== "string") {
          throw new RegoError(
            "ERR_REGO_TYPE",
            "strings.replace_n: operand 1 non-string value found in pattern object",
          );
        }
        pairs.push([k, v]);
      }
      // Go's strings.NewReplacer: leftmost match, earlier pairs win at the same position.
      let out = "";
      let i = 0;
      outer: while (i < s.length) {
        for (const [k, v] of pairs) {
          if (k !== "" && s.startsWith(k, i)) {
            out += v;
            i += k.length;
            continue outer;
          }
        }
        out += s[i];
        i++;
      }
      s = out;
      return s;
    },
  },
  substring: {
    arity: 3,
    fn: (args) => {
      const s = argString("substring", args, 0);
      const start = argInt("substring", args, 1);
      const len = argInt("substring", args, 2);
      if (start < 0) throw builtinError("substring", "negative offset");
      const r = isAscii(s) ? null : runes(s);
      const n = r ? r.length : s.length;
      if (start >= n) return "";
      const end = len < 0 ? n : Math.min(n, start + len);
      return r ? r.slice(start, end).join("") : s.slice(start, end);
    },
  },
  trim: s2("trim", (s, c) => trimRight(trimLeft(s, c), c)),
  trim_left: s2("trim_left", trimLeft),
  trim_right: s2("trim_right", trimRight),
  trim_prefix: s2("trim_prefix", (s, p) => (s.startsWith(p) ? s.slice(p.length) : s)),
  trim_suffix: s2("trim_suffix", (s, p) =>
    p !== "" && s.endsWith(p) ? s.slice(0, s.length - p.length) : s,
  ),
  trim_space: s1("trim_space", (s) => s.replace(/^[\s\u0085\u00a0]+|[\s\u0085\u00a0]+$/gu, "")),
  "strings.reverse": s1("strings.reverse", (s) => runes(s).reverse().join("")),
  "strings.count": s2("strings.count", (s, sub) => {
    if (sub === "") return runes(s).length + 1;
    return s.split(sub).length - 1;
  }),
  "strings.any_prefix_match": {
    arity: 2,
    fn: (args) => {
      const a = stringsOf("strings.any_prefix_match", args, 0);
      const b = stringsOf("strings.any_prefix_match", args, 1);
      return a.some((s) => b.some((p) => s.startsWith(p)));
    },
  },
  "strings.any_suffix_match": {
    arity: 2,
    fn: (args) => {
      const a = stringsOf("strings.any_suffix_match", args, 0);
      const b = stringsOf("strings.any_suffix_match", args, 1);
      return a.some((s) => b.some((p) => s.endsWith(p)));
    },
  },
  "strings.render_template": {
    arity: 2,
    fn: (args) => {
      const tpl = argString("strings.render_template", args, 0);
      const vars = args[1] as Value;
      if (!(vars instanceof ObjectValue)) {
        throw operandError("strings.render_template", 2, "object", vars);
      }
      return renderTemplate(tpl, vars);
    },
  },
  sprintf: {
    arity: 2,
    fn: (args) => sprintf(argString("sprintf", args, 0), argArray("sprintf", args, 1)),
  },
};
