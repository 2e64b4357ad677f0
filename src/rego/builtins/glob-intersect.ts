/**
 * Whether two "regex globs" have a non-empty intersection, for `regex.globs_match`, following
 * the algorithm of yashtewari/glob-intersection that OPA uses: tokens are a character, `.`
 * (any character) or a `[...]` set, each optionally flagged `+` or `*`; `\` escapes.
 * A step budget bounds the (potentially exponential) search.
 */

type Flag = "" | "+" | "*";

interface Token {
  kind: "char" | "dot" | "set";
  /** The character (char) or the set members (set). */
  runes: Set<string>;
  flag: Flag;
}

/** Thrown for malformed globs; the text is the library's. */
export class GlobIntersectError extends Error {}

/** Thrown when the search exceeds its step budget. */
export class GlobIntersectLimitError extends Error {}

const fail = (input: string[], pos: number, msg: string) =>
  new GlobIntersectError(
    `input:${input.join("")}, pos:${pos}, ${msg}: the input provided is invalid`,
  );

/** Longest glob accepted (the intersection search recurses per token). */
export const MAX_GLOB_LENGTH = 4096;

/** Splits a glob into flagged tokens. */
export function tokenizeGlob(text: string): Token[] {
  const input = [...text];
  if (input.length > MAX_GLOB_LENGTH) {
    throw new GlobIntersectError(`glob longer than ${MAX_GLOB_LENGTH} characters`);
  }
  const next = (i: number): { i: number; r: string; esc: boolean } | undefined => {
    if (i >= input.length) return undefined;
    if (input[i] === "\\") {
      if (i === input.length - 1) throw fail(input, i, "input ends with a \\ (escape) character");
      return { i: i + 2, r: input[i + 1] as string, esc: true };
    }
    return { i: i + 1, r: input[i] as string, esc: false };
  };
  const tokens: Token[] = [];
  let i = 0;
  for (;;) {
    const n = next(i);
    if (!n) break;
    i = n.i;
    let tok: Token;
    if (!n.esc && n.r === ".") tok = { kind: "dot", runes: new Set(), flag: "" };
    else if (!n.esc && n.r === "]") throw fail(input, i, "set-close ']' with no preceding '['");
    else if (!n.esc && n.r === "[") {
      const runes = new Set<string>();
      let prev: string | undefined;
      let complete = false;
      for (let m = next(i); m; m = next(i)) {
        i = m.i;
        if (!m.esc && m.r === "-") {
          if (prev === undefined)
            throw fail(input, i, "range character '-' must be preceded by a Unicode character");
          if (i >= input.length - 1)
            throw fail(input, i, "range character '-' must be followed by a Unicode character");
          const end = next(i) as { i: number; r: string; esc: boolean };
          i = end.i;
          if (!end.esc && (end.r === "]" || end.r === "-")) {
            throw fail(input, i, "range character '-' cannot be followed by a special symbol");
          }
          const a = prev.codePointAt(0) as number;
          const b = end.r.codePointAt(0) as number;
          if (b < a)
            throw fail(
              input,
              i,
              `range is out of order: '${end.r}' comes before '${prev}' in Unicode`,
            );
          if (b - a > 0x10000) throw fail(input, i, "range too large");
          for (let x = a; x <= b; x++) runes.add(String.fromCodePoint(x));
          prev = undefined;
        } else if (!m.esc && m.r === "]") {
          complete = true;
          break;
        } else {
          runes.add(m.r);
          prev = m.r;
        }
      }
      if (!complete) throw fail(input, i, "found [ without matching ]");
      tok = { kind: "set", runes, flag: "" };
    } else if (!n.esc && (n.r === "+" || n.r === "*")) {
      throw fail(input, i, `flag '${n.r}' must be preceded by a non-flag`);
    } else tok = { kind: "char", runes: new Set([n.r]), flag: "" };
    const f = next(i);
    if (f && !f.esc && (f.r === "+" || f.r === "*")) {
      tok.flag = f.r;
      i = f.i;
    }
    tokens.push(tok);
  }
  return simplify(tokens);
}

function sameContent(a: Token, b: Token): boolean {
  if (a.kind !== b.kind || a.runes.size !== b.runes.size) return false;
  for (const r of a.runes) if (!b.runes.has(r)) return false;
  return true;
}

/** Merges adjacent flagged tokens with the same content (`t*t+` is `t+`). */
function simplify(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (const t of tokens) {
    const last = out[out.length - 1];
    if (last && t.flag !== "" && last.flag !== "" && sameContent(t, last)) {
      last.flag = t.flag === "+" || last.flag === "+" ? "+" : "*";
    } else out.push({ ...t });
  }
  return out;
}

function match(a: Token, b: Token): boolean {
  if (a.kind === "dot" || b.kind === "dot") return true;
  for (const r of a.runes) if (b.runes.has(r)) return true;
  return false;
}

/** True when the two globs match at least one common non-empty string. */
export function globsIntersect(lhs: string, rhs: string, budget = 1_000_000): boolean {
  let g1 = tokenizeGlob(lhs);
  let g2 = tokenizeGlob(rhs);
  let steps = 0;
  const tick = () => {
    if (++steps > budget)
      throw new GlobIntersectLimitError(`intersection search exceeded ${budget} steps`);
  };
  // Trim matching unflagged prefixes and suffixes, keeping one token on each side.
  let l = 0;
  for (; l < g1.length && l < g2.length && g1[l]!.flag === "" && g2[l]!.flag === ""; l++) {
    if (!match(g1[l]!, g2[l]!)) return false;
  }
  if (l > 0) l--;
  let r1 = g1.length - 1;
  let r2 = g2.length - 1;
  for (
    ;
    r1 >= 0 && r1 >= l && r2 >= 0 && r2 >= l && g1[r1]!.flag === "" && g2[r2]!.flag === "";
    r1--, r2--
  ) {
    if (!match(g1[r1]!, g2[r2]!)) return false;
  }
  if (r1 < g1.length - 1) {
    r1++;
    r2++;
  }
  g1 = g1.slice(l, r1 + 1);
  g2 = g2.slice(l, r2 + 1);

  const normal = (a: Token[], b: Token[]): boolean => {
    tick();
    let i = 0;
    let j = 0;
    for (; i < a.length && j < b.length; i++, j++) {
      if (a[i]!.flag === "" && b[j]!.flag === "") {
        if (!match(a[i]!, b[j]!)) return false;
      } else return special(a.slice(i), b.slice(j));
    }
    return i === a.length && j === b.length;
  };
  const special = (a: Token[], b: Token[]): boolean => {
    if (a[0]!.flag !== "") return a[0]!.flag === "+" ? plus(a, b) : star(a, b);
    return b[0]!.flag === "+" ? plus(b, a) : star(b, a);
  };
  const plus = (p: Token[], o: Token[]): boolean => {
    tick();
    if (o.length === 0 || !match(p[0]!, o[0]!)) return false;
    if (star(p, o.slice(1))) return true;
    return o[0]!.flag !== "" && normal(p.slice(1), o);
  };
  const star = (s: Token[], o: Token[]): boolean => {
    tick();
    const starTok = s[0]!;
    const nextTok = s[1];
    for (let i = 0; i < o.length; i++) {
      const t = o[i]!;
      if (nextTok && match(t, nextTok)) {
        if (normal(s.slice(1), o.slice(i))) return true;
        if (!match(t, starTok)) return false;
      } else if (!match(t, starTok)) return false;
    }
    return nextTok === undefined;
  };
  return normal(g1, g2);
}
