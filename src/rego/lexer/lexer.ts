import { type Location, RegoError } from "../errors.js";

/** Token kinds produced by {@link tokenize}. */
export type TokenKind = "ident" | "string" | "rawstring" | "number" | "punct" | "template" | "eof";

/** A piece of a template string: literal text, or an expression's source and position. */
export type TemplatePart = { lit: string } | { src: string; line: number; col: number };

/** One token with its position; `nl` and `ws` tell what whitespace preceded it. */
export interface Token {
  readonly kind: TokenKind;
  /** Identifier name, punctuation text, number text, or the decoded string. */
  readonly text: string;
  readonly line: number;
  readonly col: number;
  readonly offset: number;
  /** A newline (or comment ending in one) precedes this token. */
  readonly nl: boolean;
  /** Any whitespace or comment precedes this token. */
  readonly ws: boolean;
  /** For `template` tokens (`$"..."`, `` $`...` ``): the literal and expression parts. */
  readonly parts?: TemplatePart[];
}

const PUNCT3 = new Set<string>([]);
/** JSON number syntax, matched in place (sticky) without copying the source. */
const NUMBER = /(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const PUNCT2 = new Set([":=", "==", "!=", "<=", ">="]);
const PUNCT1 = new Set([..."{}[]().,;:=<>+-*/%|&"]);

/**
 * Splits Rego source into tokens. No line or size limits are imposed here: real generated
 * Kata policies have very long lines (regorus had to lift its caps). Throws ERR_REGO_PARSE.
 */
export function tokenize(
  src: string,
  file: string,
  baseLine = 1,
  baseCol = 1,
  comments?: { line: number; text: string }[],
): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = baseLine;
  // A negative line start shifts columns on the first line by baseCol - 1.
  let lineStart = 1 - baseCol;
  const n = src.length;
  const fail = (msg: string, at = i): never => {
    throw new RegoError("ERR_REGO_PARSE", msg, {
      location: locAt(file, src, at),
    });
  };
  while (true) {
    let nl = false;
    let ws = false;
    // Skip whitespace and comments.
    while (i < n) {
      const c = src.charCodeAt(i);
      if (c === 10) {
        nl = true;
        ws = true;
        i++;
        line++;
        lineStart = i;
      } else if (c === 32 || c === 9 || c === 13) {
        ws = true;
        i++;
      } else if (c === 35) {
        ws = true;
        const from = i + 1;
        while (i < n && src.charCodeAt(i) !== 10) i++;
        comments?.push({ line, text: src.slice(from, i) });
      } else break;
    }
    const col = i - lineStart + 1;
    const start = i;
    const push = (kind: TokenKind, text: string) =>
      out.push({ kind, text, line: tokLine, col, offset: start, nl, ws });
    const tokLine = line;
    if (i >= n) {
      push("eof", "");
      return out;
    }
    const c = src[i]!;
    if (isIdentStart(c)) {
      i++;
      while (i < n && isIdentPart(src[i]!)) i++;
      push("ident", src.slice(start, i));
      continue;
    }
    if (c >= "0" && c <= "9") {
      NUMBER.lastIndex = i;
      const mm = NUMBER.exec(src);
      if (!mm) fail("invalid number");
      i += mm![0].length;
      if (i < n && (isIdentPart(src[i]!) || src[i] === ".")) fail("invalid number");
      push("number", mm![0]);
      continue;
    }
    if (c === '"') {
      i++;
      let s = "";
      let segStart = i;
      for (;;) {
        if (i >= n) fail("unterminated string", start);
        const ch = src.charCodeAt(i);
        if (ch === 34) break;
        if (ch === 10) fail("unterminated string", start);
        if (ch === 92) {
          s += src.slice(segStart, i);
          const e = src[i + 1];
          i += 2;
          switch (e) {
            case '"':
              s += '"';
              break;
            case "\\":
              s += "\\";
              break;
            case "/":
              s += "/";
              break;
            case "b":
              s += "\b";
              break;
            case "f":
              s += "\f";
              break;
            case "n":
              s += "\n";
              break;
            case "r":
              s += "\r";
              break;
            case "t":
              s += "\t";
              break;
            case "u": {
              const hex = src.slice(i, i + 4);
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("invalid \\u escape in string", i - 2);
              s += String.fromCharCode(Number.parseInt(hex, 16));
              i += 4;
              break;
            }
            default:
              fail("invalid escape in string", i - 2);
          }
          segStart = i;
          continue;
        }
        i++;
      }
      s += src.slice(segStart, i);
      i++;
      push("string", s);
      continue;
    }
    if (c === "$" && (src[i + 1] === '"' || src[i + 1] === "`")) {
      const res = scanTemplate(src, i, line, lineStart, fail);
      i = res.end;
      line = res.line;
      lineStart = res.lineStart;
      out.push({
        kind: "template",
        text: "",
        line: tokLine,
        col,
        offset: start,
        nl,
        ws,
        parts: res.parts,
      });
      continue;
    }
    if (c === "`") {
      const end = src.indexOf("`", i + 1);
      if (end < 0) fail("unterminated raw string", start);
      const text = src.slice(i + 1, end);
      for (let k = i + 1; k < end; k++) {
        if (src.charCodeAt(k) === 10) {
          line++;
          lineStart = k + 1;
        }
      }
      i = end + 1;
      push("rawstring", text);
      continue;
    }
    const three = src.slice(i, i + 3);
    if (PUNCT3.has(three)) {
      i += 3;
      push("punct", three);
      continue;
    }
    const two = src.slice(i, i + 2);
    if (PUNCT2.has(two)) {
      i += 2;
      push("punct", two);
      continue;
    }
    if (PUNCT1.has(c)) {
      i++;
      push("punct", c);
      continue;
    }
    fail(`unexpected character ${JSON.stringify(c)}`);
  }
}

function isIdentStart(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_";
}

function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= "0" && c <= "9");
}

/** 1-based line/column of an offset. */
export function locAt(file: string, src: string, offset: number): Location {
  let line = 1;
  let ls = 0;
  for (let k = 0; k < offset && k < src.length; k++) {
    if (src.charCodeAt(k) === 10) {
      line++;
      ls = k + 1;
    }
  }
  return { file, line, col: offset - ls + 1 };
}

/**
 * Scans a template string starting at `$`: literal text with `{expr}` holes (nested strings,
 * braces and templates allowed inside a hole), `\{` for a literal brace.
 */
function scanTemplate(
  src: string,
  start: number,
  line0: number,
  lineStart0: number,
  fail: (msg: string, at?: number) => never,
): { end: number; parts: TemplatePart[]; line: number; lineStart: number } {
  const raw = src[start + 1] === "`";
  const close = raw ? "`" : '"';
  let i = start + 2;
  let line = line0;
  let lineStart = lineStart0;
  const parts: TemplatePart[] = [];
  let lit = "";
  const newline = (at: number) => {
    line++;
    lineStart = at + 1;
  };
  for (;;) {
    if (i >= src.length) fail("unterminated template string", start);
    const ch = src[i]!;
    if (ch === close) {
      i++;
      break;
    }
    if (ch === "\n") {
      if (!raw) fail("unterminated template string", start);
      newline(i);
      lit += ch;
      i++;
      continue;
    }
    if (ch === "\\") {
      const e = src[i + 1];
      if (e === "{") {
        lit += "{";
        i += 2;
        continue;
      }
      if (raw) {
        lit += ch;
        i++;
        continue;
      }
      const m = /^\\(["\\/bfnrt]|u[0-9a-fA-F]{4})/.exec(src.slice(i, i + 6));
      if (!m) fail("invalid escape in template string", i);
      lit += JSON.parse(`"${m![0]}"`) as string;
      i += m![0].length;
      continue;
    }
    if (ch === "{") {
      if (lit) parts.push({ lit });
      lit = "";
      const exprStart = i + 1;
      const exprLine = line;
      const exprCol = exprStart - lineStart + 1;
      let depth = 1;
      i++;
      while (depth > 0) {
        if (i >= src.length) fail("unterminated template expression", exprStart - 1);
        const c2 = src[i]!;
        if (c2 === "\n") newline(i);
        if (c2 === "{") depth++;
        else if (c2 === "}") depth--;
        else if (c2 === '"' || c2 === "`") {
          const q = c2;
          i++;
          while (i < src.length && src[i] !== q) {
            if (src[i] === "\\" && q === '"') i++;
            else if (src[i] === "\n") newline(i);
            i++;
          }
        } else if (c2 === "$" && (src[i + 1] === '"' || src[i + 1] === "`")) {
          const inner = scanTemplate(src, i, line, lineStart, fail);
          i = inner.end;
          line = inner.line;
          lineStart = inner.lineStart;
          continue;
        }
        i++;
      }
      parts.push({ src: src.slice(exprStart, i - 1), line: exprLine, col: exprCol });
      continue;
    }
    lit += ch;
    i++;
  }
  if (lit) parts.push({ lit });
  return { end: i, parts, line, lineStart };
}
