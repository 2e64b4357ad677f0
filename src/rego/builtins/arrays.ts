import type { Value } from "../value/value.js";
import { argArray, argInt } from "./args.js";
import type { BuiltinTable } from "./types.js";

/** Array builtins. */
export const arrayBuiltins: BuiltinTable = {
  "array.concat": {
    arity: 2,
    fn: (args) =>
      Object.freeze([...argArray("array.concat", args, 0), ...argArray("array.concat", args, 1)]),
  },
  "array.slice": {
    arity: 3,
    fn: (args) => {
      const a = argArray("array.slice", args, 0);
      let start = argInt("array.slice", args, 1);
      let stop = argInt("array.slice", args, 2);
      if (start < 0) start = 0;
      if (stop > a.length) stop = a.length;
      if (start >= stop) return Object.freeze([]);
      return Object.freeze(a.slice(start, stop));
    },
  },
  "array.reverse": {
    arity: 1,
    fn: (args) => Object.freeze([...argArray("array.reverse", args, 0)].reverse()),
  },
  "array.flatten": {
    arity: 1,
    fn: (args) => {
      const out: Value[] = [];
      for (const v of argArray("array.flatten", args, 0)) {
        if (Array.isArray(v)) out.push(...v);
        else out.push(v);
      }
      return Object.freeze(out);
    },
  },
};
