import type { Location } from "../errors.js";

/** Scalar literal value. */
export type Scalar = null | boolean | number | bigint | string;

/** Binary operators of Rego expressions. */
export type BinaryOp =
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "|"
  | "&"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">=";

/** A Rego term or expression; every node carries its source location. */
export type Term =
  | { type: "scalar"; value: Scalar; loc: Location }
  | { type: "var"; name: string; loc: Location }
  | { type: "ref"; head: Term; path: Term[]; loc: Location }
  | { type: "array"; items: Term[]; loc: Location }
  | { type: "object"; entries: [Term, Term][]; loc: Location }
  | { type: "set"; items: Term[]; loc: Location }
  | { type: "arrayCompr"; head: Term; body: Literal[]; loc: Location }
  | { type: "setCompr"; head: Term; body: Literal[]; loc: Location }
  | { type: "objectCompr"; key: Term; value: Term; body: Literal[]; loc: Location }
  | { type: "call"; fn: string; fnLoc: Location; args: Term[]; loc: Location }
  | { type: "binary"; op: BinaryOp; left: Term; right: Term; loc: Location }
  | { type: "unary"; op: "-"; operand: Term; loc: Location }
  | { type: "in"; key: Term | undefined; value: Term; collection: Term; loc: Location }
  | { type: "assign"; op: ":=" | "="; left: Term; right: Term; loc: Location }
  /** `$"a {expr} b"`: each expression part is a set comprehension collecting its values. */
  | { type: "template"; parts: (string | Term)[]; loc: Location };

/** `with <target> as <value>` modifier on a literal. */
export interface With {
  target: Term;
  value: Term;
  loc: Location;
}

/** One statement of a rule body or query. */
export type Literal =
  | { kind: "expr"; expr: Term; negated: boolean; with: With[]; loc: Location }
  | { kind: "some"; vars: string[]; loc: Location }
  | {
      kind: "someIn";
      key: Term | undefined;
      value: Term;
      collection: Term;
      with: With[];
      loc: Location;
    }
  | {
      kind: "every";
      key: Term | undefined;
      value: Term;
      domain: Term;
      body: Literal[];
      with: With[];
      loc: Location;
    };

/** `else [= value] [if] { body }` link of a rule. */
export interface ElseClause {
  value: Term | undefined;
  body: Literal[];
  loc: Location;
}

/** Rule kinds after parsing. */
export type RuleKind = "complete" | "partialSet" | "function";

/** A rule (or function) definition. */
export interface Rule {
  kind: RuleKind;
  isDefault: boolean;
  /** Head reference: first element is the name, the rest are terms (strings or vars). */
  head: Term[];
  /** Function parameters. */
  args: Term[] | undefined;
  /** Partial-set element (`contains x`, or v0 `p[x]`). */
  key: Term | undefined;
  /** Rule value; undefined means `true`. */
  value: Term | undefined;
  body: Literal[];
  elses: ElseClause[];
  /** YAML text of a `# METADATA` comment block right before the rule. */
  annotations?: string;
  loc: Location;
}

/** An `import` statement. */
export interface Import {
  path: Term;
  alias: string | undefined;
  loc: Location;
}

/** A parsed module. */
export interface Module {
  file: string;
  /** Package path below `data` (e.g. ["kbs", "policy"]). */
  pkg: string[];
  imports: Import[];
  rules: Rule[];
  regoV1: boolean;
  /** YAML text of a `# METADATA` comment block right before `package`. */
  pkgAnnotations?: string;
}
