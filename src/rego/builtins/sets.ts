import { SetValue, type Value } from "../value/value.js";
import { argSet, operandError } from "./args.js";
import type { BuiltinTable } from "./types.js";

function setOfSets(name: string, args: readonly Value[]): SetValue[] {
  const s = argSet(name, args, 0);
  const out: SetValue[] = [];
  for (const e of s.values()) {
    if (!(e instanceof SetValue)) throw operandError(name, 1, "set of sets", s);
    out.push(e);
  }
  return out;
}

/** Set builtins: union, intersection (of a set of sets). */
export const setBuiltins: BuiltinTable = {
  union: {
    arity: 1,
    fn: (args) => {
      const out = new SetValue();
      for (const s of setOfSets("union", args)) for (const [k, v] of s.items) out.items.set(k, v);
      return out;
    },
  },
  intersection: {
    arity: 1,
    fn: (args) => {
      const sets = setOfSets("intersection", args);
      if (sets.length === 0) return new SetValue();
      const out = new SetValue();
      for (const [k, v] of sets[0]!.items)
        if (sets.every((s) => s.items.has(k))) out.items.set(k, v);
      return out;
    },
  },
};
