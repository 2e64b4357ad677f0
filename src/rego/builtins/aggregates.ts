import {
  type ArrayValue,
  compare,
  isNumber,
  normBig,
  ObjectValue,
  SetValue,
  type Value,
} from "../value/value.js";
import { argArrayOrSet, operandError } from "./args.js";
import type { BuiltinTable } from "./types.js";
import { runeLength } from "./util.js";

function numbers(name: string, args: readonly Value[]): readonly Value[] {
  const items = argArrayOrSet(name, args, 0);
  for (const v of items) {
    if (!isNumber(v))
      throw operandError(name, 1, "one of {array, set} of numbers", args[0] as Value);
  }
  return items;
}

function fold(items: readonly Value[], op: "+" | "*"): number | bigint {
  let exact = true;
  let acc: number | bigint = op === "+" ? 0 : 1;
  for (const v of items) {
    const n = v as number | bigint;
    if (
      exact &&
      (typeof n === "bigint" || Number.isInteger(n)) &&
      (typeof acc === "bigint" || Number.isInteger(acc))
    ) {
      const r = op === "+" ? BigInt(acc) + BigInt(n) : BigInt(acc) * BigInt(n);
      acc = normBig(r);
    } else {
      exact = false;
      acc = op === "+" ? Number(acc) + Number(n) : Number(acc) * Number(n);
    }
  }
  return acc;
}

/** Aggregate builtins: count, sum, product, max, min, sort. */
export const aggregateBuiltins: BuiltinTable = {
  count: {
    arity: 1,
    fn: ([v]) => {
      if (typeof v === "string") return runeLength(v);
      if (Array.isArray(v)) return v.length;
      if (v instanceof ObjectValue || v instanceof SetValue) return v.size;
      throw operandError("count", 1, "one of {array, object, set, string}", v as Value);
    },
  },
  sum: { arity: 1, fn: (args) => fold(numbers("sum", args), "+") },
  product: { arity: 1, fn: (args) => fold(numbers("product", args), "*") },
  max: {
    arity: 1,
    fn: (args) => {
      const items = argArrayOrSet("max", args, 0);
      if (items.length === 0) return undefined;
      return items.reduce((a, b) => (compare(a, b) >= 0 ? a : b));
    },
  },
  min: {
    arity: 1,
    fn: (args) => {
      const items = argArrayOrSet("min", args, 0);
      if (items.length === 0) return undefined;
      return items.reduce((a, b) => (compare(a, b) <= 0 ? a : b));
    },
  },
  sort: {
    arity: 1,
    fn: (args) => {
      const items = argArrayOrSet("sort", args, 0);
      return Object.freeze([...(items as ArrayValue)].sort(compare));
    },
  },
};
