import { RegoError } from "../errors.js";
import { formatValue } from "../value/format.js";
import { fromJs, toJs } from "../value/json.js";
import type { Value } from "../value/value.js";
import { iterate } from "./collections.js";
import { findNode } from "./compile.js";
import type { EvalContext, VK } from "./context.js";
import type { CallTarget, CTerm } from "./ir.js";
import { callFunction } from "./rules.js";
import { builtinFailure, evalSeq, evalTerm, type Frame, guardBuiltin } from "./terms.js";
import { unify } from "./unify.js";

type CallTerm = CTerm & { t: "call" };

/** Evaluates a function call term (builtin, user function, host function, print, walk). */
export function evalCall(ctx: EvalContext, t: CallTerm, f: Frame, k: VK): boolean {
  ctx.step(t.loc);
  if (t.target.kind === "print") return evalPrint(ctx, t, f, k);
  const nIn = t.outArg ? t.args.length - 1 : t.args.length;
  const ins = t.outArg ? t.args.slice(0, nIn) : t.args;
  const out = t.outArg ? t.args[nIn] : undefined;
  return evalSeq(ctx, ins, 0, new Array(nIn), f, (vals) => {
    const args = vals.slice();
    if (t.target.kind === "walk" && !ctx.mocks.has("walk")) {
      return walk(args[0] as Value, [], (pair) =>
        out ? unify(ctx, out, pair, f, () => k(true)) : k(pair),
      );
    }
    const r = callTarget(ctx, t.target, args, t);
    if (r === undefined) return false;
    return out ? unify(ctx, out, r, f, () => k(true)) : k(r);
  });
}

function walk(v: Value, path: Value[], k: (pair: Value) => boolean): boolean {
  if (k(Object.freeze([Object.freeze(path.slice()), v]))) return true;
  return iterate(v, (key, child) => {
    path.push(key);
    const r = walk(child, path, k);
    path.pop();
    return r;
  });
}

/** Calls what a name resolves to, honouring `with` mocks. */
export function callTarget(
  ctx: EvalContext,
  target: CallTarget,
  args: Value[],
  t: CTerm,
): Value | undefined {
  if (ctx.mocks.size > 0) {
    const name = target.kind === "rule" ? `data.${target.path.join(".")}` : target.name;
    const m = ctx.mocks.get(name);
    if (m) {
      if ("value" in m) return m.value;
      const saved = ctx.mocks;
      // A replacement runs without any mocks: a mock never calls another mock (OPA).
      ctx.mocks = new Map();
      try {
        return callTarget(ctx, m.target, args, t);
      } finally {
        ctx.mocks = saved;
      }
    }
  }
  switch (target.kind) {
    case "builtin": {
      // guardBuiltin inlined (no closure per call): builtin errors skip stack capture in
      // non-strict mode and become undefined there.
      const limit = Error.stackTraceLimit;
      if (!ctx.strict) Error.stackTraceLimit = 0;
      try {
        return target.def.fn(args, ctx.bctx);
      } catch (e) {
        return builtinFailure(ctx, t, e);
      } finally {
        Error.stackTraceLimit = limit;
      }
    }
    case "rule": {
      // The rule tree never changes after compilation: resolve the function once.
      target.rs ??= findNode(ctx.root, target.path)?.rules;
      if (!target.rs) return undefined;
      return callFunction(ctx, target.rs, args);
    }
    case "host": {
      const h = ctx.hostFns.get(target.name);
      if (!h) {
        throw new RegoError("ERR_REGO_COMPILE", `undefined function ${target.name}`, {
          location: t.loc,
        });
      }
      return guardBuiltin(ctx, t, () => {
        const r = h.fn(...args.map(toJs));
        return r === undefined ? undefined : fromJs(r);
      });
    }
    case "walk": {
      let first: Value | undefined;
      walk(args[0] as Value, [], (p) => {
        first = p;
        return true;
      });
      return first;
    }
    case "print":
      return true;
    case "unknown":
      throw new RegoError("ERR_REGO_COMPILE", `undefined function ${target.name}`, {
        location: t.loc,
      });
  }
}

/** print: never fails; undefined arguments print as `<undefined>` (OPA and regorus agree). */
function evalPrint(ctx: EvalContext, t: CallTerm, f: Frame, k: VK): boolean {
  if (ctx.prints) {
    const parts: string[] = [];
    for (const a of t.args) {
      const vals: string[] = [];
      evalTerm(ctx, a, f, (v) => {
        vals.push(typeof v === "string" ? v : formatValue(v));
        return false;
      });
      if (vals.length === 0) parts.push("<undefined>");
      else if (vals.length === 1) parts.push(vals[0]!);
      else parts.push(`{${vals.join(", ")}}`);
    }
    ctx.prints.push(`${t.loc.file}:${t.loc.line}: ${parts.join(" ")}`);
  }
  return k(true);
}
