import type { Value } from "../value/value.js";
import { findNode } from "./compile.js";
import { type EvalContext, UNDEF } from "./context.js";
import type { CLit, CRule, CTerm, RuleNode, RuleSet } from "./ir.js";

/**
 * Per-query memo of user function calls, as OPA's virtual cache does for calls whose arguments
 * are ground: the same function with the same arguments gives the same value within a query
 * (policies call e.g. a mount matcher for the same pair once in a comprehension and again in
 * `every`). Arguments are compared by JS identity (strings and numbers by value, collections
 * by reference): a miss only costs a call, a hit is always the same value.
 *
 * While `print` output is gathered, functions that print, use `with` (which reruns rules, and
 * so their prints) or call such functions are not memoised: a cached call would drop their
 * lines (regorus, whose traces the Kata agent's logs follow, does not memoise).
 */

/** The function prints (or may, through `with` or the functions it calls). */
const PRINTS = 1;

/** A function's analysis, kept on its rule set. */
type Analysed = RuleSet & { memoFlags?: number };

/** One remembered call: its arguments (never mutated after the call), and the result. */
interface Entry {
  args: readonly Value[];
  v: Value | typeof UNDEF;
}

/**
 * Memo tables of one query, one per function: a short list scanned in order (most functions
 * are called a few times per decision, and keying a map by a fresh input object costs V8 an
 * identity hash), indexed by first argument once it grows past {@link LIST_MAX}.
 */
export type FnMemo = Map<RuleSet, Table>;

interface Table {
  list: Entry[];
  byFirst: Map<unknown, Entry[]> | undefined;
}

const LIST_MAX = 8;

function sameArgs(a: readonly Value[], b: readonly Value[]): boolean {
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The cached result of `rs(args)`: a value, UNDEF, or undefined when not cached. */
export function memoGet(
  ctx: EvalContext,
  rs: RuleSet,
  args: readonly Value[],
): Value | typeof UNDEF | undefined {
  if (!memoAllowed(ctx, rs)) return undefined;
  const table = ctx.fmemo.get(rs);
  if (table === undefined) return undefined;
  const list = table.byFirst === undefined ? table.list : table.byFirst.get(args[0]);
  if (list === undefined) return undefined;
  for (const e of list) if (sameArgs(e.args, args)) return e.v;
  return undefined;
}

/** Remembers `rs(args)` (see {@link memoGet}). */
export function memoSet(
  ctx: EvalContext,
  rs: RuleSet,
  args: readonly Value[],
  v: Value | undefined,
): void {
  if (!memoAllowed(ctx, rs)) return;
  const e: Entry = { args, v: v === undefined ? UNDEF : v };
  let table = ctx.fmemo.get(rs);
  if (table === undefined) {
    table = { list: [], byFirst: undefined };
    ctx.fmemo.set(rs, table);
  }
  if (table.byFirst === undefined) {
    table.list.push(e);
    if (table.list.length <= LIST_MAX) return;
    table.byFirst = new Map();
    const moved = table.list;
    table.list = [];
    for (const m of moved) addByFirst(table.byFirst, m);
    return;
  }
  addByFirst(table.byFirst, e);
}

function addByFirst(byFirst: Map<unknown, Entry[]>, e: Entry): void {
  const list = byFirst.get(e.args[0]);
  if (list === undefined) byFirst.set(e.args[0], [e]);
  else list.push(e);
}

function memoAllowed(ctx: EvalContext, rs: RuleSet): boolean {
  if (ctx.prints === undefined) return true;
  let fl = (rs as Analysed).memoFlags;
  if (fl === undefined) fl = analyse(ctx.root, rs, new Set());
  return (fl & PRINTS) === 0;
}

function analyse(root: RuleNode, rs: RuleSet, active: Set<RuleSet>): number {
  const known = (rs as Analysed).memoFlags;
  if (known !== undefined) return known;
  // Recursion is a compile error in Rego; be conservative if it ever reaches here.
  if (active.has(rs)) return PRINTS;
  active.add(rs);
  const acc = { prints: false };
  for (const d of [...rs.defs, ...rs.defaults]) scanRule(root, d, acc, active);
  active.delete(rs);
  const fl = acc.prints ? PRINTS : 0;
  (rs as Analysed).memoFlags = fl;
  return fl;
}

interface Acc {
  prints: boolean;
}

function scanRule(root: RuleNode, d: CRule, acc: Acc, active: Set<RuleSet>): void {
  for (const a of d.args ?? []) scanTerm(root, a, acc, active);
  if (d.value) scanTerm(root, d.value, acc, active);
  scanBody(root, d.body, acc, active);
  for (const e of d.elses) {
    if (e.value) scanTerm(root, e.value, acc, active);
    scanBody(root, e.body, acc, active);
  }
}

function scanBody(root: RuleNode, body: CLit[], acc: Acc, active: Set<RuleSet>): void {
  for (const l of body) {
    if (l.withs.length > 0) acc.prints = true;
    switch (l.k) {
      case "expr":
        scanTerm(root, l.e, acc, active);
        break;
      case "someIn":
        if (l.key) scanTerm(root, l.key, acc, active);
        scanTerm(root, l.value, acc, active);
        scanTerm(root, l.coll, acc, active);
        break;
      case "every":
        if (l.key) scanTerm(root, l.key, acc, active);
        scanTerm(root, l.value, acc, active);
        scanTerm(root, l.domain, acc, active);
        scanBody(root, l.body, acc, active);
        break;
    }
  }
}

function scanTerm(root: RuleNode, t: CTerm, acc: Acc, active: Set<RuleSet>): void {
  switch (t.t) {
    case "const":
    case "local":
    case "input":
      return;
    case "data":
      for (const p of t.path) scanTerm(root, p, acc, active);
      return;
    case "ref":
      scanTerm(root, t.head, acc, active);
      for (const p of t.path) scanTerm(root, p, acc, active);
      return;
    case "array":
    case "set":
      for (const i of t.items) scanTerm(root, i, acc, active);
      return;
    case "object":
      for (const [k, v] of t.entries) {
        scanTerm(root, k, acc, active);
        scanTerm(root, v, acc, active);
      }
      return;
    case "arrayCompr":
    case "setCompr":
      scanTerm(root, t.head, acc, active);
      scanBody(root, t.body, acc, active);
      return;
    case "objectCompr":
      scanTerm(root, t.key, acc, active);
      scanTerm(root, t.value, acc, active);
      scanBody(root, t.body, acc, active);
      return;
    case "call": {
      for (const a of t.args) scanTerm(root, a, acc, active);
      const target = t.target;
      if (target.kind === "print") acc.prints = true;
      else if (target.kind === "rule") {
        const callee = target.rs ?? findNode(root, target.path)?.rules;
        if (callee) {
          const fl = analyse(root, callee, active);
          if ((fl & PRINTS) !== 0) acc.prints = true;
        }
      }
      return;
    }
    case "binary":
    case "assign":
      scanTerm(root, t.l, acc, active);
      scanTerm(root, t.r, acc, active);
      return;
    case "neg":
      scanTerm(root, t.operand, acc, active);
      return;
    case "in":
      if (t.key) scanTerm(root, t.key, acc, active);
      scanTerm(root, t.value, acc, active);
      scanTerm(root, t.coll, acc, active);
      return;
    case "template":
      for (const p of t.parts) if (typeof p !== "string") scanTerm(root, p, acc, active);
      return;
  }
}
