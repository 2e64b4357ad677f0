import { formatValue } from "../value/format.js";
import { isNumber, numberText, ObjectValue, SetValue, type Value } from "../value/value.js";
import { builtinError } from "./args.js";

/**
 * A subset of Go's text/template for `strings.render_template`: `{{.a.b}}`, `{{$v}}`,
 * `{{range [$i,] [$v :=] pipeline}}…{{else}}…{{end}}`, `{{if pipeline}}…{{else}}…{{end}}`,
 * trim markers `{{-`/`-}}`. Missing keys render `<undefined>` as in OPA. Anything else in an
 * action is a builtin error naming the construct.
 */
export function renderTemplate(tpl: string, vars: Value): string {
  const nodes = parse(tokenize(tpl));
  let out = "";
  const env = new Map<string, Value | undefined>([["$", vars]]);
  render(nodes, vars, env, (s) => {
    out += s;
  });
  return out;
}

type Tok = { text: string } | { action: string };
type Node =
  | { kind: "text"; text: string }
  | { kind: "print"; expr: string }
  | { kind: "if"; expr: string; yes: Node[]; no: Node[] }
  | { kind: "range"; k?: string; v?: string; expr: string; body: Node[]; else: Node[] };

const NAME = "strings.render_template";

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf("{{", i);
    if (open < 0) {
      out.push({ text: s.slice(i) });
      break;
    }
    let text = s.slice(i, open);
    let start = open + 2;
    if (s[start] === "-" && s[start + 1] === " ") {
      text = text.replace(/\s+$/, "");
      start++;
    }
    if (text) out.push({ text });
    const close = s.indexOf("}}", start);
    if (close < 0) throw builtinError(NAME, "template: unclosed action");
    let body = s.slice(start, close);
    let next = close + 2;
    if (body.endsWith(" -")) {
      body = body.slice(0, -2);
      while (next < s.length && /\s/.test(s[next]!)) next++;
    }
    out.push({ action: body.trim() });
    i = next;
  }
  return out;
}

function parse(toks: Tok[]): Node[] {
  let pos = 0;
  const block = (stop: Set<string>): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (pos < toks.length) {
      const t = toks[pos++]!;
      if ("text" in t) {
        nodes.push({ kind: "text", text: t.text });
        continue;
      }
      const a = t.action;
      const word = a.split(/\s+/)[0]!;
      if (stop.has(word)) return { nodes, end: word };
      if (word === "if") {
        const then = block(new Set(["else", "end"]));
        const els = then.end === "else" ? block(new Set(["end"])).nodes : [];
        nodes.push({ kind: "if", expr: a.slice(2).trim(), yes: then.nodes, no: els });
      } else if (word === "range") {
        const m = /^range\s+(?:(\$\w+)\s*(?:,\s*(\$\w+))?\s*:=\s*)?(.+)$/.exec(a);
        if (!m) throw builtinError(NAME, `template: bad range: ${a}`);
        const body = block(new Set(["else", "end"]));
        const els = body.end === "else" ? block(new Set(["end"])).nodes : [];
        const [k, v] = m[2] ? [m[1], m[2]] : [undefined, m[1]];
        nodes.push({ kind: "range", k, v, expr: m[3]!.trim(), body: body.nodes, else: els });
      } else if (word === "end" || word === "else") {
        throw builtinError(NAME, `template: unexpected {{${word}}}`);
      } else if (a.startsWith("/*")) {
        // comment
      } else nodes.push({ kind: "print", expr: a });
    }
    if (stop.size > 0) throw builtinError(NAME, "template: unexpected EOF");
    return { nodes, end: "" };
  };
  return block(new Set()).nodes;
}

function lookup(
  expr: string,
  dot: Value | undefined,
  env: Map<string, Value | undefined>,
): Value | undefined {
  if (expr === ".") return dot;
  const m = /^(\$\w*|)((?:\.[A-Za-z_][\w-]*)*)$/.exec(expr);
  if (!m) {
    if (/^"(?:[^"\\]|\\.)*"$/.test(expr)) return JSON.parse(expr) as string;
    if (/^-?\d+(\.\d+)?$/.test(expr)) return Number(expr);
    throw builtinError(NAME, `template: unsupported action {{${expr}}}`);
  }
  let cur: Value | undefined = m[1] ? env.get(m[1]) : dot;
  for (const key of m[2]!.split(".").slice(1)) {
    cur = cur instanceof ObjectValue ? cur.get(key) : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

function truthy(v: Value | undefined): boolean {
  if (v === undefined || v === null || v === false) return false;
  if (isNumber(v)) return Number(v) !== 0;
  if (typeof v === "string" || Array.isArray(v)) return v.length > 0;
  if (v instanceof ObjectValue || v instanceof SetValue) return v.size > 0;
  return true;
}

function show(v: Value | undefined): string {
  if (v === undefined) return "<undefined>";
  if (typeof v === "string") return v;
  if (isNumber(v)) return numberText(v);
  return formatValue(v);
}

function render(
  nodes: Node[],
  dot: Value | undefined,
  env: Map<string, Value | undefined>,
  emit: (s: string) => void,
): void {
  for (const n of nodes) {
    switch (n.kind) {
      case "text":
        emit(n.text);
        break;
      case "print":
        emit(show(lookup(n.expr, dot, env)));
        break;
      case "if":
        render(truthy(lookup(n.expr, dot, env)) ? n.yes : n.no, dot, env, emit);
        break;
      case "range": {
        const coll = lookup(n.expr, dot, env);
        const items: [Value, Value][] = Array.isArray(coll)
          ? coll.map((v, i) => [i, v] as [Value, Value])
          : coll instanceof ObjectValue
            ? coll.sorted()
            : coll instanceof SetValue
              ? coll.sorted().map((v, i) => [i, v] as [Value, Value])
              : [];
        if (items.length === 0) {
          render(n.else, dot, env, emit);
          break;
        }
        for (const [k, v] of items) {
          const inner = new Map(env);
          if (n.k) inner.set(n.k, k);
          if (n.v) inner.set(n.v, v);
          render(n.body, v, inner, emit);
        }
        break;
      }
    }
  }
}
