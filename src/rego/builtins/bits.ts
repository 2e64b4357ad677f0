import { RegoError } from "../errors.js";
import type { Value } from "../value/value.js";
import { normBig } from "../value/value.js";
import { argNumber } from "./args.js";
import type { BuiltinTable } from "./types.js";
import { isInt } from "./util.js";

function intArg(name: string, args: readonly Value[], i: number): bigint {
  const v = argNumber(name, args, i);
  if (!isInt(v)) {
    throw new RegoError(
      "ERR_REGO_TYPE",
      `${name}: operand ${i + 1} must be integer number but got floating-point number`,
    );
  }
  return BigInt(v);
}

const op2 = (name: string, f: (a: bigint, b: bigint) => bigint) => ({
  arity: 2,
  fn: (args: readonly Value[]) => normBig(f(intArg(name, args, 0), intArg(name, args, 1))),
});

/** Bitwise builtins on integers. */
export const bitsBuiltins: BuiltinTable = {
  "bits.and": op2("bits.and", (a, b) => a & b),
  "bits.or": op2("bits.or", (a, b) => a | b),
  "bits.xor": op2("bits.xor", (a, b) => a ^ b),
  "bits.lsh": op2("bits.lsh", (a, b) => {
    if (b < 0n)
      throw new RegoError(
        "ERR_REGO_TYPE",
        "bits.lsh: operand 2 must be an unsigned integer number but got a negative integer",
      );
    return a << b;
  }),
  "bits.rsh": op2("bits.rsh", (a, b) => {
    if (b < 0n)
      throw new RegoError(
        "ERR_REGO_TYPE",
        "bits.rsh: operand 2 must be an unsigned integer number but got a negative integer",
      );
    return a >> b;
  }),
  "bits.negate": { arity: 1, fn: (args) => normBig(~intArg("bits.negate", args, 0)) },
};
