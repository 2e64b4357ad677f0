import type { BinaryOp } from "../ast/ast.js";
import { builtinError, operandError } from "../builtins/args.js";
import { compare, equal, isNumber, normBig, SetValue, type Value } from "../value/value.js";

const NAMES: Record<string, string> = {
  "+": "plus",
  "-": "minus",
  "*": "mul",
  "/": "div",
  "%": "rem",
  "|": "or",
  "&": "and",
};

/** Evaluates a binary operator on two values (OPA builtins plus/minus/.../equal/lt...). */
export function binaryOp(op: BinaryOp, a: Value, b: Value): Value | undefined {
  switch (op) {
    case "==":
      return equal(a, b);
    case "!=":
      return !equal(a, b);
    case "<":
      return compare(a, b) < 0;
    case "<=":
      return compare(a, b) <= 0;
    case ">":
      return compare(a, b) > 0;
    case ">=":
      return compare(a, b) >= 0;
    case "|":
    case "&": {
      const name = NAMES[op]!;
      if (!(a instanceof SetValue)) throw operandError(name, 1, "set", a);
      if (!(b instanceof SetValue)) throw operandError(name, 2, "set", b);
      if (op === "|") {
        const s = new SetValue(new Map(a.items));
        for (const [k, v] of b.items) s.items.set(k, v);
        return s;
      }
      const s = new SetValue();
      for (const [k, v] of a.items) if (b.items.has(k)) s.items.set(k, v);
      return s;
    }
    case "-":
      if (a instanceof SetValue || b instanceof SetValue) {
        if (!(a instanceof SetValue)) {
          if (isNumber(a)) throw operandError("minus", 2, "number", b);
          throw operandError("minus", 1, "one of {number, set}", a);
        }
        if (!(b instanceof SetValue)) throw operandError("minus", 2, "set", b);
        const s = new SetValue();
        for (const [k, v] of a.items) if (!b.items.has(k)) s.items.set(k, v);
        return s;
      }
      return arith(op, a, b);
    default:
      return arith(op, a, b);
  }
}

/** Arithmetic on numbers, exact for integers (bigint beyond 2^53). */
export function arith(op: BinaryOp, a: Value, b: Value): Value {
  const name = NAMES[op] ?? op;
  if (!isNumber(a)) throw operandError(name, 1, op === "-" ? "one of {number, set}" : "number", a);
  if (!isNumber(b)) throw operandError(name, 2, op === "-" ? "one of {number, set}" : "number", b);
  const ints =
    (typeof a === "bigint" || Number.isInteger(a)) &&
    (typeof b === "bigint" || Number.isInteger(b));
  if (op === "%") {
    if (!ints) throw builtinError("rem", "modulo on floating-point number");
    if (Number(b) === 0) throw builtinError("rem", "modulo by zero");
    if (typeof a === "number" && typeof b === "number") return a % b === 0 ? 0 : a % b;
    return normBig(BigInt(a) % BigInt(b));
  }
  if (op === "/") {
    if (Number(b) === 0 && !(typeof b === "bigint" && b !== 0n)) {
      throw builtinError("div", "divide by zero");
    }
    if (ints && (typeof a === "bigint" || typeof b === "bigint")) {
      const ba = BigInt(a);
      const bb = BigInt(b);
      if (ba % bb === 0n) return normBig(ba / bb);
    }
    return Number(a) / Number(b);
  }
  if (typeof a === "number" && typeof b === "number") {
    const r = op === "+" ? a + b : op === "-" ? a - b : a * b;
    if (!ints || Number.isSafeInteger(r)) return r;
  }
  if (ints) {
    const ba = BigInt(a);
    const bb = BigInt(b);
    return normBig(op === "+" ? ba + bb : op === "-" ? ba - bb : ba * bb);
  }
  const fa = Number(a);
  const fb = Number(b);
  return op === "+" ? fa + fb : op === "-" ? fa - fb : fa * fb;
}

/** Unary minus. */
export function negate(a: Value): Value {
  if (!isNumber(a)) throw operandError("minus", 1, "number", a);
  return typeof a === "bigint" ? normBig(-a) : a === 0 ? 0 : -a;
}
