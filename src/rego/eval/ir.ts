import type { BinaryOp } from "../ast/ast.js";
import type { BuiltinDef } from "../builtins/types.js";
import type { Location } from "../errors.js";
import type { Value } from "../value/value.js";

/**
 * The compiled form the evaluator runs: variables resolved to frame slots, names resolved to
 * rules, builtins or roots, and body statements ordered so every variable is bound before use.
 */
export type CTerm =
  | { t: "const"; v: Value; loc: Location }
  | { t: "local"; slot: number; name: string; loc: Location }
  | { t: "input"; loc: Location }
  | { t: "data"; path: CTerm[]; loc: Location }
  | { t: "ref"; head: CTerm; path: CTerm[]; loc: Location }
  | { t: "array"; items: CTerm[]; loc: Location }
  | { t: "object"; entries: [CTerm, CTerm][]; loc: Location }
  | { t: "set"; items: CTerm[]; loc: Location }
  | { t: "arrayCompr"; head: CTerm; body: CLit[]; lo: number; loc: Location }
  | { t: "setCompr"; head: CTerm; body: CLit[]; lo: number; loc: Location }
  | { t: "objectCompr"; key: CTerm; value: CTerm; body: CLit[]; lo: number; loc: Location }
  | { t: "call"; target: CallTarget; args: CTerm[]; outArg: boolean; loc: Location }
  | { t: "binary"; op: BinaryOp; l: CTerm; r: CTerm; loc: Location }
  | { t: "neg"; operand: CTerm; loc: Location }
  | { t: "in"; key: CTerm | undefined; value: CTerm; coll: CTerm; loc: Location }
  | { t: "assign"; op: ":=" | "="; l: CTerm; r: CTerm; loc: Location }
  | { t: "template"; parts: (string | CTerm)[]; loc: Location };

/** What a call resolves to. `name` is the name as written (for mocks and messages). */
export type CallTarget =
  | { kind: "rule"; name: string; path: string[]; rs?: RuleSet | undefined }
  | { kind: "builtin"; name: string; def: BuiltinDef }
  | { kind: "host"; name: string }
  | { kind: "print"; name: string }
  | { kind: "walk"; name: string }
  | { kind: "unknown"; name: string };

/** `with target as value`. */
export interface CWith {
  /** "input", "data", or "fn" (function/builtin mock). */
  kind: "input" | "data" | "fn";
  path: string[];
  /** For function mocks: the replaced function's name. */
  fnName: string;
  value: CTerm;
  /** For function mocks by name: the replacement function. */
  replacement: CallTarget | undefined;
  loc: Location;
}

/** A compiled statement. */
export type CLit =
  | { k: "expr"; e: CTerm; neg: boolean; withs: CWith[]; loc: Location }
  | {
      k: "someIn";
      key: CTerm | undefined;
      value: CTerm;
      coll: CTerm;
      withs: CWith[];
      loc: Location;
    }
  | {
      k: "every";
      key: CTerm | undefined;
      value: CTerm;
      domain: CTerm;
      body: CLit[];
      /** First slot of the every body's own scope. */
      lo: number;
      withs: CWith[];
      loc: Location;
    };

/** One compiled rule definition (a head with its body and else chain). */
export interface CRule {
  /** Frame size for this definition. */
  nslots: number;
  /** Function parameters as patterns. */
  args: CTerm[] | undefined;
  /** Partial-object key terms below the rule path (ref heads), or the partial-set element. */
  keys: CTerm[];
  value: CTerm | undefined;
  /** Ref-head multi-value rule (`p[x] contains y`): the last key is the set element. */
  setLeaf: boolean;
  body: CLit[];
  elses: { value: CTerm | undefined; body: CLit[]; loc: Location }[];
  isDefault: boolean;
  loc: Location;
}

/** All definitions of one rule path. */
export interface RuleSet {
  path: string[];
  kind: "complete" | "partialSet" | "partialObject" | "function";
  defs: CRule[];
  defaults: CRule[];
  arity: number;
}

/** A node of the rule tree below `data`. */
export interface RuleNode {
  children: Map<string, RuleNode>;
  rules: RuleSet | undefined;
  path: string[];
}
