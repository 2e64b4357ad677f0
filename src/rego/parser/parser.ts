import type {
  BinaryOp,
  ElseClause,
  Import,
  Literal,
  Module,
  Rule,
  Term,
  With,
} from "../ast/ast.js";
import { type Location, RegoError } from "../errors.js";
import { type Token, tokenize } from "../lexer/lexer.js";
import { parseNumberLiteral } from "../value/json.js";

/** Deepest expression nesting the parser accepts (guards the JS stack). */
export const MAX_PARSE_DEPTH = 400;

/** Options for {@link parseModule}. */
export interface ParseOptions {
  /** Rego v0 syntax (`if`/`contains` optional, `p[x] { }` is a partial set). Default false. */
  v0?: boolean;
}

const KEYWORDS = new Set([
  "package",
  "import",
  "as",
  "default",
  "else",
  "not",
  "with",
  "some",
  "in",
  "every",
  "if",
  "contains",
]);

/** Parses one Rego module. Throws ERR_REGO_PARSE with a location on any syntax error. */
export function parseModule(src: string, file: string, opts: ParseOptions = {}): Module {
  const comments: { line: number; text: string }[] = [];
  const p = new Parser(tokenize(src, file, 1, 1, comments), file, !opts.v0);
  p.metadata = metadataBlocks(comments);
  return p.module();
}

/**
 * `# METADATA` blocks: contiguous comment lines after a `METADATA` line, keyed by the line
 * right after the block (where the annotated package or rule must start).
 */
function metadataBlocks(comments: { line: number; text: string }[]): Map<number, string> {
  const out = new Map<number, string>();
  for (let i = 0; i < comments.length; i++) {
    if (comments[i]!.text.trim() !== "METADATA") continue;
    let last = comments[i]!.line;
    const lines: string[] = [];
    let j = i + 1;
    for (; j < comments.length && comments[j]!.line === last + 1; j++) {
      last = comments[j]!.line;
      const t = comments[j]!.text;
      lines.push(t.startsWith(" ") ? t.slice(1) : t);
    }
    out.set(last + 1, lines.join("\n"));
    i = j - 1;
  }
  return out;
}

/** Parses a query (statements separated by `;` or newlines). */
export function parseQuery(src: string, file = "query"): Literal[] {
  const p = new Parser(tokenize(src, file), file, true);
  return p.queryOnly();
}

/** Parses a single term (used for `input_term` and `--input` written as Rego). */
export function parseTermText(src: string, file = "term"): Term {
  const p = new Parser(tokenize(src, file), file, true);
  return p.termOnly();
}

class Parser {
  private pos = 0;
  /** Whether newlines end statements at this point (false inside brackets/parens). */
  private nlSig = true;
  private depth = 0;
  /** METADATA blocks by the line they annotate. */
  metadata = new Map<number, string>();
  /** Parsing a comprehension head: a top-level `|` ends it instead of meaning union. */
  private noUnion = false;

  constructor(
    private readonly toks: Token[],
    private readonly file: string,
    private regoV1: boolean,
  ) {}

  // ---- token helpers ----
  private peek(k = 0): Token {
    return this.toks[Math.min(this.pos + k, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }
  private loc(t: Token = this.peek()): Location {
    return { file: this.file, line: t.line, col: t.col };
  }
  private fail(msg: string, t: Token = this.peek()): never {
    throw new RegoError("ERR_REGO_PARSE", msg, { location: this.loc(t) });
  }
  private isP(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === "punct" && t.text === text;
  }
  private isKw(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === "ident" && t.text === text && !this.kwAsName(k);
  }

  /** A keyword directly followed by `.` is a name (`as.foo := 1`, `input.in`): OPA v1 allows it. */
  private kwAsName(k: number): boolean {
    const n = this.peek(k + 1);
    return n.kind === "punct" && n.text === "." && !n.ws;
  }
  private expectP(text: string): Token {
    if (!this.isP(text)) this.fail(`expected '${text}' but found ${this.describe()}`);
    return this.next();
  }
  private describe(t: Token = this.peek()): string {
    return t.kind === "eof" ? "end of input" : `'${t.text}'`;
  }
  /** True when the current token starts a new line in a newline-sensitive context. */
  private atBreak(): boolean {
    return this.nlSig && this.peek().nl;
  }
  private enter(): void {
    if (++this.depth > MAX_PARSE_DEPTH) {
      this.fail(`expression nested deeper than ${MAX_PARSE_DEPTH} levels`);
    }
  }

  // ---- module level ----
  module(): Module {
    if (!this.isKw("package")) this.fail("expected 'package'");
    const pkgAnnotations = this.metadata.get(this.peek().line);
    this.next();
    const pkgRef = this.refOnly();
    const pkg = this.refToPath(pkgRef, "package");
    const imports: Import[] = [];
    while (this.isKw("import")) {
      const t = this.next();
      const path = this.refOnly();
      let alias: string | undefined;
      if (this.isKw("as")) {
        this.next();
        const a = this.next();
        if (a.kind !== "ident") this.fail("expected import alias", a);
        alias = a.text;
      }
      const parts = this.refToPath(path, "import", true);
      if (parts[0] === "rego" && parts[1] === "v1") this.regoV1 = true;
      else if (parts[0] === "future") {
        if (parts[1] !== "keywords") this.fail("unknown future import", t);
      } else if (parts[0] !== "data" && parts[0] !== "input") {
        this.fail("import path must begin with input or data", t);
      }
      imports.push({ path, alias, loc: this.loc(t) });
    }
    const rules: Rule[] = [];
    while (this.peek().kind !== "eof") {
      if (this.isKw("import")) this.fail("imports must appear before rules");
      if (this.isKw("package")) this.fail("unexpected package");
      const ann = this.metadata.get(this.peek().line);
      const rule = this.rule();
      if (ann !== undefined) rule.annotations = ann;
      rules.push(rule);
      // v0 shorthand `p { a } { b }`: each further body is another definition of the same head.
      while (!this.regoV1 && this.isP("{") && !this.peek().nl && rule.elses.length === 0) {
        const extra = this.block();
        rules.push({ ...rule, body: extra, annotations: undefined });
      }
    }
    return {
      file: this.file,
      pkg: pkg.slice(1),
      imports,
      rules,
      regoV1: this.regoV1,
      ...(pkgAnnotations !== undefined ? { pkgAnnotations } : {}),
    };
  }

  queryOnly(): Literal[] {
    const body = this.query(() => this.peek().kind === "eof");
    if (this.peek().kind !== "eof") this.fail(`unexpected ${this.describe()}`);
    if (body.length === 0) this.fail("empty query");
    return body;
  }

  termOnly(): Term {
    this.nlSig = false;
    const t = this.expr();
    if (this.peek().kind !== "eof") this.fail(`unexpected ${this.describe()}`);
    return t;
  }

  /** A dotted/bracketed ref of constant strings (package and import paths). */
  private refOnly(): Term {
    const t = this.peek();
    if (t.kind !== "ident") this.fail("expected a reference");
    this.next();
    const path: Term[] = [];
    for (;;) {
      if (this.isP(".") && !this.peek().ws) {
        this.next();
        const id = this.next();
        if (id.kind !== "ident") this.fail(expectedIdent(id), id);
        path.push({ type: "scalar", value: id.text, loc: this.loc(id) });
      } else if (this.isP("[") && !this.peek().ws) {
        this.next();
        const s = this.next();
        if (s.kind !== "string") this.fail("expected string in package/import path", s);
        path.push({ type: "scalar", value: s.text, loc: this.loc(s) });
        this.expectP("]");
      } else break;
    }
    const head: Term = { type: "var", name: t.text, loc: this.loc(t) };
    return path.length ? { type: "ref", head, path, loc: this.loc(t) } : head;
  }

  private refToPath(r: Term, what: string, allowAny = false): string[] {
    if (r.type === "var") return allowAny ? [r.name] : ["data", r.name];
    if (r.type !== "ref" || r.head.type !== "var") this.fail(`invalid ${what} path`);
    const out = allowAny ? [r.head.name] : ["data", r.head.name];
    for (const e of r.path) {
      if (e.type !== "scalar" || typeof e.value !== "string") this.fail(`invalid ${what} path`);
      out.push(e.value);
    }
    return out;
  }

  private rule(): Rule {
    const start = this.peek();
    let isDefault = false;
    if (this.isKw("default")) {
      this.next();
      isDefault = true;
    }
    const nameTok = this.peek();
    if (nameTok.kind !== "ident" || (KEYWORDS.has(nameTok.text) && !this.kwAsName(0))) {
      this.fail(`unexpected ${this.describe()}: expected a rule`);
    }
    // Head ref: name followed by .x / [term] (adjacent).
    this.next();
    const head: Term[] = [{ type: "var", name: nameTok.text, loc: this.loc(nameTok) }];
    let args: Term[] | undefined;
    for (;;) {
      if (this.isP(".") && !this.peek().ws) {
        this.next();
        const id = this.next();
        if (id.kind !== "ident") this.fail(expectedIdent(id), id);
        head.push({ type: "scalar", value: id.text, loc: this.loc(id) });
      } else if (this.isP("[") && !this.peek().ws) {
        this.next();
        const saved = this.nlSig;
        this.nlSig = false;
        head.push(this.expr());
        this.nlSig = saved;
        this.expectP("]");
      } else if (this.isP("(") && !this.peek().ws && args === undefined) {
        this.next();
        const saved = this.nlSig;
        this.nlSig = false;
        args = [];
        if (!this.isP(")")) {
          for (;;) {
            args.push(this.expr());
            if (this.isP(",")) {
              this.next();
              continue;
            }
            break;
          }
        }
        this.nlSig = saved;
        this.expectP(")");
        break;
      } else break;
    }
    let kind: Rule["kind"] = args ? "function" : "complete";
    let key: Term | undefined;
    let value: Term | undefined;
    if (this.isKw("contains") && !args) {
      this.next();
      key = this.exprNoAssign();
      kind = "partialSet";
    }
    if (this.isP(":=") || this.isP("=")) {
      if (kind === "partialSet") this.fail("partial set rules cannot have a value");
      this.next();
      value = this.exprNoAssign();
    }
    if (
      !this.regoV1 &&
      kind === "complete" &&
      value === undefined &&
      head.length === 2 &&
      head[1]!.type !== "scalar"
    ) {
      // v0: `p[x] { ... }` is a partial set.
      key = head.pop();
      kind = "partialSet";
    }
    if (isDefault) {
      if (value === undefined) this.fail("default rules must have a value", start);
      if (this.isKw("if") || this.isP("{")) this.fail("default rules cannot have a body");
      return {
        kind,
        isDefault,
        head,
        args,
        key,
        value,
        body: [],
        elses: [],
        loc: this.loc(start),
      };
    }
    const body = this.ruleBody(false);
    const elses: ElseClause[] = [];
    while (this.isKw("else")) {
      if (kind === "partialSet") this.fail("else keyword cannot be used on multi-value rules");
      const et = this.next();
      let ev: Term | undefined;
      if (this.isP(":=") || this.isP("=")) {
        this.next();
        ev = this.exprNoAssign();
      }
      const eb = this.ruleBody(true);
      elses.push({ value: ev, body: eb ?? [], loc: this.loc(et) });
    }
    if (body === undefined && kind === "complete" && value === undefined && head.length === 1) {
      // A bare name with no value and no body is not a rule.
      this.fail(`unexpected ${this.describe()}: rule needs a value or a body`, start);
    }
    return {
      kind,
      isDefault,
      head,
      args,
      key,
      value,
      body: body ?? [],
      elses,
      loc: this.loc(start),
    };
  }

  /** Parses `if { ... }`, `if literal`, or `{ ... }`; undefined when there is no body. */
  private ruleBody(isElse: boolean): Literal[] | undefined {
    if (this.isKw("if")) {
      this.next();
      if (this.isP("{")) {
        // A body, unless it only parses as a term (`if {x: i | ...}`): try the body first.
        const at = this.pos;
        const depth = this.depth;
        try {
          return this.block();
        } catch (e) {
          if (!(e instanceof RegoError) || this.looksLikeBlock(at)) throw e;
          this.pos = at;
          this.depth = depth;
        }
      }
      const saved = this.nlSig;
      this.nlSig = true;
      const lit = this.literal();
      this.nlSig = saved;
      return [lit];
    }
    if (this.isP("{") && !this.peek().nl) {
      if (this.regoV1 && !isElse) this.fail("`if` keyword is required before rule body");
      return this.block();
    }
    if (this.isP("{") && !this.regoV1) return this.block();
    return undefined;
  }

  /** After `if`, `{` opens a body unless it is an object/set literal used as an expression. */
  private looksLikeBlock(from: number): boolean {
    // `if {x: i | ...}` is a comprehension used as the single statement; a top-level `:` or
    // `|` inside the braces means a term, not a body.
    let depth = 0;
    for (let k = from; k < this.toks.length; k++) {
      const t = this.toks[k]!;
      if (t.kind === "eof") return true;
      if (t.kind !== "punct") continue;
      if (t.text === "{" || t.text === "[" || t.text === "(") depth++;
      else if (t.text === "}" || t.text === "]" || t.text === ")") {
        depth--;
        if (depth === 0) return true;
      } else if (depth === 1 && (t.text === ":" || t.text === "|")) return false;
    }
    return true;
  }

  private block(): Literal[] {
    const open = this.expectP("{");
    const saved = this.nlSig;
    this.nlSig = true;
    const body = this.query(() => this.isP("}"));
    this.nlSig = saved;
    this.expectP("}");
    if (body.length === 0) this.fail("found empty body", open);
    return body;
  }

  /** Literals separated by `;` or newlines until `end()` is true. */
  private query(end: () => boolean): Literal[] {
    const out: Literal[] = [];
    const saved = this.nlSig;
    this.nlSig = true;
    while (!end()) {
      if (this.peek().kind === "eof") break;
      out.push(this.literal());
      if (this.isP(";")) {
        this.next();
        continue;
      }
      if (end()) break;
      if (!this.peek().nl) this.fail(`unexpected ${this.describe()}`);
    }
    this.nlSig = saved;
    return out;
  }

  private literal(): Literal {
    const t = this.peek();
    const loc = this.loc(t);
    if (this.isKw("some")) {
      this.next();
      const terms: Term[] = [this.exprCompare()];
      while (this.isP(",")) {
        this.next();
        terms.push(this.exprCompare());
      }
      if (this.isKw("in")) {
        this.next();
        if (terms.length > 2) this.fail("too many variables in some ... in");
        const collection = this.exprCompare();
        const w = this.withs();
        return terms.length === 2
          ? { kind: "someIn", key: terms[0], value: terms[1]!, collection, with: w, loc }
          : { kind: "someIn", key: undefined, value: terms[0]!, collection, with: w, loc };
      }
      const vars: string[] = [];
      for (const v of terms) {
        if (v.type !== "var") this.fail("expected variable in some declaration");
        vars.push(v.name);
      }
      return { kind: "some", vars, loc };
    }
    if (this.isKw("every")) {
      this.next();
      const a = this.exprCompare();
      let key: Term | undefined;
      let value = a;
      if (this.isP(",")) {
        this.next();
        key = a;
        value = this.exprCompare();
      }
      if (!this.isKw("in")) this.fail("expected 'in' in every");
      this.next();
      const domain = this.exprCompare();
      const body = this.block();
      const w = this.withs();
      return { kind: "every", key, value, domain, body, with: w, loc };
    }
    let negated = false;
    if (this.isKw("not")) {
      this.next();
      negated = true;
    }
    let expr = this.expr();
    // `k, v in coll` membership at statement level.
    if (this.isP(",") && !negated) {
      this.next();
      const v = this.exprCompare();
      if (!this.isKw("in")) this.fail("expected 'in' after 'key, value'");
      this.next();
      const coll = this.exprCompare();
      expr = { type: "in", key: expr, value: v, collection: coll, loc };
      while (this.isKw("in") && !this.atBreak()) {
        this.next();
        const c2 = this.exprCompare();
        expr = { type: "in", key: undefined, value: expr, collection: c2, loc };
      }
    }
    return { kind: "expr", expr, negated, with: this.withs(), loc };
  }

  private withs(): With[] {
    const out: With[] = [];
    while (this.isKw("with")) {
      const t = this.next();
      const saved = this.nlSig;
      this.nlSig = false;
      const target = this.postfix();
      if (!this.isKw("as")) this.fail("expected 'as' in with");
      this.next();
      this.nlSig = saved;
      const value = this.exprCompare();
      out.push({ target, value, loc: this.loc(t) });
    }
    return out;
  }

  // ---- expressions, lowest precedence first ----
  /** Full expression including `:=` and `=`. */
  private expr(): Term {
    const left = this.exprNoAssign();
    if ((this.isP(":=") || this.isP("=")) && !this.atBreak()) {
      const op = this.next().text as ":=" | "=";
      const right = this.exprNoAssign();
      return { type: "assign", op, left, right, loc: left.loc };
    }
    return left;
  }

  /** Membership (`x in c`) level. */
  private exprNoAssign(): Term {
    let left = this.exprCompare();
    while (this.isKw("in") && !this.atBreak()) {
      this.next();
      const coll = this.exprCompare();
      left = { type: "in", key: undefined, value: left, collection: coll, loc: left.loc };
    }
    return left;
  }

  private exprCompare(): Term {
    this.enter();
    let left = this.exprBinary(0);
    for (;;) {
      const t = this.peek();
      if (
        t.kind === "punct" &&
        (t.text === "==" ||
          t.text === "!=" ||
          t.text === "<" ||
          t.text === "<=" ||
          t.text === ">" ||
          t.text === ">=") &&
        !this.atBreak()
      ) {
        this.next();
        const right = this.exprBinary(0);
        left = { type: "binary", op: t.text as BinaryOp, left, right, loc: left.loc };
      } else break;
    }
    this.depth--;
    return left;
  }

  private static readonly LEVELS: ReadonlyArray<ReadonlyArray<string>> = [
    ["|"],
    ["&"],
    ["+", "-"],
    ["*", "/", "%"],
  ];

  private exprBinary(level: number): Term {
    if (level >= Parser.LEVELS.length) return this.unary();
    if (level === 0 && this.noUnion) return this.exprBinary(1);
    const ops = Parser.LEVELS[level]!;
    let left = this.exprBinary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.kind === "punct" && ops.includes(t.text) && !this.atBreak()) {
        this.next();
        const right = this.exprBinary(level + 1);
        left = { type: "binary", op: t.text as BinaryOp, left, right, loc: left.loc };
      } else break;
    }
    return left;
  }

  private unary(): Term {
    if (this.isP("-")) {
      const t = this.next();
      const nt = this.peek();
      if (nt.kind === "number" && !nt.ws) {
        this.next();
        const v = parseNumberLiteral(`-${nt.text}`);
        return this.postfixFrom({ type: "scalar", value: v, loc: this.loc(t) });
      }
      this.enter();
      const operand = this.unary();
      this.depth--;
      return { type: "unary", op: "-", operand, loc: this.loc(t) };
    }
    return this.postfix();
  }

  private postfix(): Term {
    return this.postfixFrom(this.primary());
  }

  private postfixFrom(base: Term): Term {
    let term = base;
    for (;;) {
      const t = this.peek();
      if (t.ws || t.kind !== "punct") break;
      if (t.text === ".") {
        this.next();
        const id = this.next();
        if (id.kind !== "ident") this.fail(expectedIdent(id), id);
        term = this.appendRef(term, { type: "scalar", value: id.text, loc: this.loc(id) });
      } else if (t.text === "[") {
        this.next();
        const saved = this.nlSig;
        const su = this.noUnion;
        this.nlSig = false;
        this.noUnion = false;
        this.enter();
        const idx = this.exprNoAssign();
        this.depth--;
        this.nlSig = saved;
        this.noUnion = su;
        this.expectP("]");
        term = this.appendRef(term, idx);
      } else if (t.text === "(") {
        const name = this.callName(term);
        if (name === undefined) this.fail("invalid function call");
        this.next();
        const saved = this.nlSig;
        const su = this.noUnion;
        this.nlSig = false;
        this.noUnion = false;
        this.enter();
        const args: Term[] = [];
        if (!this.isP(")")) {
          for (;;) {
            args.push(this.exprNoAssign());
            if (this.isP(",")) {
              this.next();
              // OPA accepts a trailing comma in call arguments: f(a, b, )
              if (this.isP(")")) break;
              continue;
            }
            break;
          }
        }
        this.depth--;
        this.nlSig = saved;
        this.noUnion = su;
        this.expectP(")");
        term = { type: "call", fn: name, fnLoc: term.loc, args, loc: term.loc };
      } else break;
    }
    return term;
  }

  private appendRef(term: Term, elem: Term): Term {
    if (term.type === "ref") return { ...term, path: [...term.path, elem] };
    return { type: "ref", head: term, path: [elem], loc: term.loc };
  }

  /** Dotted name of a call target (`f`, `a.b.c`, `data.x.f`). */
  private callName(term: Term): string | undefined {
    if (term.type === "var") return term.name;
    if (term.type !== "ref" || term.head.type !== "var") return undefined;
    let s = term.head.name;
    for (const e of term.path) {
      if (e.type !== "scalar" || typeof e.value !== "string") return undefined;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(e.value)) return undefined;
      s += `.${e.value}`;
    }
    return s;
  }

  private primary(): Term {
    const t = this.peek();
    const loc = this.loc(t);
    switch (t.kind) {
      case "number":
        this.next();
        return { type: "scalar", value: parseNumberLiteral(t.text), loc };
      case "string":
      case "rawstring":
        this.next();
        return { type: "scalar", value: t.text, loc };
      case "ident": {
        if ((t.text === "true" || t.text === "false") && !this.kwAsName(0)) {
          this.next();
          return { type: "scalar", value: t.text === "true", loc };
        }
        if (t.text === "null" && !this.kwAsName(0)) {
          this.next();
          return { type: "scalar", value: null, loc };
        }
        if (t.text === "set" && this.isP("(", 1) && this.isP(")", 2) && !this.peek(1).ws) {
          this.next();
          this.next();
          this.next();
          return { type: "set", items: [], loc };
        }
        // `contains(...)` etc.: keywords double as builtin names when called.
        if (KEYWORDS.has(t.text) && !(this.isP("(", 1) && !this.peek(1).ws) && !this.kwAsName(0)) {
          this.fail(`unexpected keyword '${t.text}'`);
        }
        this.next();
        return { type: "var", name: t.text, loc };
      }
      case "punct":
        break;
      case "template":
        this.next();
        return this.template(t);
      default:
        this.fail(`unexpected ${this.describe()}`);
    }
    if (t.text === "(") {
      this.next();
      const saved = this.nlSig;
      const su = this.noUnion;
      this.nlSig = false;
      this.noUnion = false;
      this.enter();
      let e = this.expr();
      if (this.isP(",")) {
        // `(k, v in coll)`
        this.next();
        const v = this.exprCompare();
        if (!this.isKw("in")) this.fail("expected 'in' after 'key, value'");
        this.next();
        const coll = this.exprCompare();
        e = { type: "in", key: e, value: v, collection: coll, loc };
        while (this.isKw("in")) {
          this.next();
          const c2 = this.exprCompare();
          e = { type: "in", key: undefined, value: e, collection: c2, loc };
        }
      }
      this.depth--;
      this.nlSig = saved;
      this.noUnion = su;
      this.expectP(")");
      return e;
    }
    if (t.text === "[") return this.arrayLit();
    if (t.text === "{") return this.braceLit();
    return this.fail(`unexpected ${this.describe()}`);
  }

  private static templateVars = 0;

  /** A template string: each `{expr [with ...]}` becomes a set comprehension of its values. */
  private template(t: Token): Term {
    const loc = this.loc(t);
    const parts: (string | Term)[] = [];
    for (const part of t.parts ?? []) {
      if ("lit" in part) {
        parts.push(part.lit);
        continue;
      }
      const sub = new Parser(
        tokenize(part.src, this.file, part.line, part.col),
        this.file,
        this.regoV1,
      );
      sub.nlSig = false;
      sub.depth = this.depth + 1;
      const at = sub.loc();
      const expr = sub.expr();
      const withs = sub.withs();
      if (sub.peek().kind !== "eof")
        sub.fail(`unexpected ${sub.describe()} in template expression`);
      const v: Term = { type: "var", name: `$t${Parser.templateVars++}`, loc: at };
      parts.push({
        type: "setCompr",
        head: v,
        body: [
          {
            kind: "expr",
            expr: { type: "assign", op: ":=", left: v, right: expr, loc: at },
            negated: false,
            with: withs,
            loc: at,
          },
        ],
        loc: at,
      });
    }
    return { type: "template", parts, loc };
  }

  private arrayLit(): Term {
    const open = this.next();
    const loc = this.loc(open);
    const saved = this.nlSig;
    const su = this.noUnion;
    this.nlSig = false;
    this.enter();
    const items: Term[] = [];
    if (!this.isP("]")) {
      this.noUnion = true;
      const first = this.exprNoAssign();
      this.noUnion = false;
      if (this.isP("|")) {
        // `|` binds as union inside exprNoAssign, so a comprehension head never contains `|`
        // unless parenthesised; reaching here means the head ended before `|`.
        this.next();
        const body = this.query(() => this.isP("]"));
        this.nlSig = saved;
        this.noUnion = su;
        this.expectP("]");
        this.depth--;
        return { type: "arrayCompr", head: first, body, loc };
      }
      items.push(first);
      while (this.isP(",")) {
        this.next();
        if (this.isP("]")) break;
        items.push(this.exprNoAssign());
      }
    }
    this.nlSig = saved;
    this.noUnion = su;
    this.expectP("]");
    this.depth--;
    return { type: "array", items, loc };
  }

  private braceLit(): Term {
    const open = this.next();
    const loc = this.loc(open);
    const saved = this.nlSig;
    const su = this.noUnion;
    this.nlSig = false;
    this.enter();
    const done = (t: Term): Term => {
      this.nlSig = saved;
      this.noUnion = su;
      this.expectP("}");
      this.depth--;
      return t;
    };
    if (this.isP("}")) return done({ type: "object", entries: [], loc });
    this.noUnion = true;
    const first = this.exprNoAssign();
    this.noUnion = false;
    if (this.isP(":")) {
      this.next();
      this.noUnion = true;
      const v = this.exprNoAssign();
      this.noUnion = false;
      if (this.isP("|")) {
        this.next();
        const body = this.query(() => this.isP("}"));
        return done({ type: "objectCompr", key: first, value: v, body, loc });
      }
      const entries: [Term, Term][] = [[first, v]];
      while (this.isP(",")) {
        this.next();
        if (this.isP("}")) break;
        const k = this.exprNoAssign();
        this.expectP(":");
        entries.push([k, this.exprNoAssign()]);
      }
      return done({ type: "object", entries, loc });
    }
    if (this.isP("|")) {
      this.next();
      const body = this.query(() => this.isP("}"));
      return done({ type: "setCompr", head: first, body, loc });
    }
    const items: Term[] = [first];
    while (this.isP(",")) {
      this.next();
      if (this.isP("}")) break;
      items.push(this.exprNoAssign());
    }
    return done({ type: "set", items, loc });
  }
}

/** OPA's wording for a missing name after `.`: `unexpected eof token: expected ident`. */
function expectedIdent(t: Token): string {
  return t.kind === "eof"
    ? "unexpected eof token: expected ident"
    : `unexpected ${t.kind} token: expected ident`;
}
