import { RegoError } from "../errors.js";
import { arith, negate } from "../eval/ops.js";
import { compare, equal, isNumber, normBig, type Value } from "../value/value.js";
import { argNumber, builtinError, operandError } from "./args.js";
import type { BuiltinTable } from "./types.js";
import { isInt } from "./util.js";

function typeErr(name: string, pos: number): RegoError {
  return new RegoError(
    "ERR_REGO_TYPE",
    `${name}: operand ${pos} must be integer number but got floating-point number`,
  );
}

/** Largest range numbers.range will build (guards memory). */
const MAX_RANGE = 10_000_000;

function range(name: string, a: Value, b: Value, step: Value): Value {
  if (!isInt(a)) throw typeErr(name, 1);
  if (!isInt(b)) throw typeErr(name, 2);
  if (!isInt(step)) throw typeErr(name, 3);
  const s = Number(step);
  if (s <= 0) throw builtinError(name, "step must be a positive integer");
  const x = Number(a);
  const y = Number(b);
  if (Math.abs(y - x) / s > MAX_RANGE) throw builtinError(name, "range too large");
  const out: number[] = [];
  if (x <= y) for (let i = x; i <= y; i += s) out.push(i);
  else for (let i = x; i >= y; i -= s) out.push(i);
  return Object.freeze(out);
}

const bin = (_name: string, op: "+" | "-" | "*" | "/" | "%") => ({
  arity: 2,
  fn: ([a, b]: readonly Value[]) => arith(op, a as Value, b as Value),
});

/**
 * OPA's floor and ceil (topdown/arithmetic.go) truncate, then adjust by one when the truncated
 * integer is negative (floor) or non-negative (ceil). So floor(-0.5) = 0 and ceil(-0.5) = 1 in
 * OPA; we return the same (checked against `opa eval`).
 */
function opaFloor(n: number): number {
  const i = Math.trunc(n);
  return i < 0 && i !== n ? i - 1 : i === 0 ? 0 : i;
}

function opaCeil(n: number): number {
  const i = Math.trunc(n);
  return i >= 0 && i !== n ? i + 1 : i === 0 ? 0 : i;
}

/** Go's math.Round: half away from zero. */
function roundHalfAway(n: number): number {
  return n < 0 ? -Math.round(-n) : Math.round(n);
}

/** Parses a number as Go's strconv.ParseFloat would, for to_number. */
function parseNumberString(s: string): number | bigint | undefined {
  if (/^[+-]?\d+$/.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : normBig(BigInt(s));
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(s)) return Number(s);
  return undefined;
}

/** Number builtins. */
export const numberBuiltins: BuiltinTable = {
  plus: bin("plus", "+"),
  minus: bin("minus", "-"),
  mul: bin("mul", "*"),
  div: bin("div", "/"),
  rem: bin("rem", "%"),
  abs: {
    arity: 1,
    fn: (args) => {
      const n = argNumber("abs", args, 0);
      return compare(n, 0) < 0 ? negate(n) : n;
    },
  },
  ceil: { arity: 1, fn: (args) => intOp(argNumber("ceil", args, 0), opaCeil) },
  floor: { arity: 1, fn: (args) => intOp(argNumber("floor", args, 0), opaFloor) },
  round: { arity: 1, fn: (args) => intOp(argNumber("round", args, 0), roundHalfAway) },
  "numbers.range": {
    arity: 2,
    fn: ([a, b]) => {
      if (!isNumber(a as Value)) throw operandError("numbers.range", 1, "number", a as Value);
      if (!isNumber(b as Value)) throw operandError("numbers.range", 2, "number", b as Value);
      return range("numbers.range", a as Value, b as Value, 1);
    },
  },
  "numbers.range_step": {
    arity: 3,
    fn: ([a, b, s]) => {
      for (const [i, v] of [a, b, s].entries()) {
        if (!isNumber(v as Value))
          throw operandError("numbers.range_step", i + 1, "number", v as Value);
      }
      return range("numbers.range_step", a as Value, b as Value, s as Value);
    },
  },
  to_number: {
    arity: 1,
    fn: ([v]) => {
      if (v === null) return 0;
      if (typeof v === "boolean") return v ? 1 : 0;
      if (isNumber(v as Value)) return v as Value;
      if (typeof v === "string") {
        const n = parseNumberString(v);
        if (/^[+-]?(inf|infinity|nan)$/i.test(v)) {
          throw new RegoError(
            "ERR_REGO_TYPE",
            `to_number: operand 1 must be a finite number but got ${v}`,
          );
        }
        if (n === undefined || (typeof n === "number" && !Number.isFinite(n))) {
          throw builtinError(
            "to_number",
            `strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`,
          );
        }
        return n;
      }
      throw operandError("to_number", 1, "one of {boolean, null, number, string}", v as Value);
    },
  },
  format_int: {
    arity: 2,
    fn: (args) => {
      const n = argNumber("format_int", args, 0);
      const base = argNumber("format_int", args, 1);
      const b = Number(base);
      if (![2, 8, 10, 16].includes(b))
        throw new RegoError("ERR_REGO_TYPE", "format_int: operand 2 must be one of {2, 8, 10, 16}");
      const i = typeof n === "bigint" ? n : BigInt(Math.trunc(n));
      return i.toString(b);
    },
  },
  equal: { arity: 2, fn: ([a, b]) => equal(a as Value, b as Value) },
  neq: { arity: 2, fn: ([a, b]) => !equal(a as Value, b as Value) },
  lt: { arity: 2, fn: ([a, b]) => compare(a as Value, b as Value) < 0 },
  lte: { arity: 2, fn: ([a, b]) => compare(a as Value, b as Value) <= 0 },
  gt: { arity: 2, fn: ([a, b]) => compare(a as Value, b as Value) > 0 },
  gte: { arity: 2, fn: ([a, b]) => compare(a as Value, b as Value) >= 0 },
};

function intOp(n: number | bigint, f: (x: number) => number): number | bigint {
  if (typeof n === "bigint") return n;
  return f(n);
}
