import { equal, ObjectValue, SetValue, type Value } from "../value/value.js";
import { argObject, operandError } from "./args.js";
import type { BuiltinTable } from "./types.js";

/** OPA's object.union: b wins, nested objects merge recursively. */
export function unionObjects(a: ObjectValue, b: ObjectValue): ObjectValue {
  const out = new ObjectValue(new Map(a.entries));
  for (const [k, v] of b.entries.values()) {
    const p = out.get(k);
    out.set(k, p instanceof ObjectValue && v instanceof ObjectValue ? unionObjects(p, v) : v);
  }
  return out;
}

function keysOf(name: string, v: Value, pos: number): Value[] {
  if (Array.isArray(v)) return [...v];
  if (v instanceof SetValue) return [...v.values()];
  if (v instanceof ObjectValue) return v.keys();
  throw operandError(name, pos, "one of {object, set, array}", v);
}

function isSubset(sup: Value, sub: Value): boolean {
  if (sup instanceof ObjectValue && sub instanceof ObjectValue) {
    for (const [k, v] of sub.entries.values()) {
      const s = sup.get(k);
      if (s === undefined) return false;
      if (!isSubset(s, v)) return false;
    }
    return true;
  }
  if (sup instanceof SetValue && sub instanceof SetValue) {
    for (const k of sub.items.keys()) if (!sup.items.has(k)) return false;
    return true;
  }
  if (Array.isArray(sup) && Array.isArray(sub)) {
    // sub must appear as a contiguous run in sup.
    if (sub.length === 0) return true;
    for (let i = 0; i + sub.length <= sup.length; i++) {
      let ok = true;
      for (let j = 0; j < sub.length; j++) {
        if (!equal(sup[i + j] as Value, sub[j] as Value)) {
          ok = false;
          break;
        }
      }
      if (ok) return true;
    }
    return false;
  }
  if (Array.isArray(sup) && sub instanceof SetValue) {
    for (const e of sub.values()) if (!sup.some((x) => equal(x, e))) return false;
    return true;
  }
  return equal(sup, sub);
}

/** Object builtins. */
export const objectBuiltins: BuiltinTable = {
  "object.union": {
    arity: 2,
    fn: (args) =>
      unionObjects(argObject("object.union", args, 0), argObject("object.union", args, 1)),
  },
  "object.union_n": {
    arity: 1,
    fn: ([v]) => {
      if (!Array.isArray(v)) throw operandError("object.union_n", 1, "array", v as Value);
      let out = new ObjectValue();
      for (const o of v) {
        if (!(o instanceof ObjectValue))
          throw operandError("object.union_n", 1, "array of objects", v);
        out = unionObjects(out, o);
      }
      return out;
    },
  },
  "object.get": {
    arity: 3,
    fn: (args) => {
      const o = argObject("object.get", args, 0);
      const key = args[1] as Value;
      const dflt = args[2] as Value;
      if (Array.isArray(key)) {
        let cur: Value = o;
        for (const k of key) {
          let next: Value | undefined;
          if (cur instanceof ObjectValue) next = cur.get(k);
          else if (Array.isArray(cur) && typeof k === "number") next = cur[k];
          else if (cur instanceof SetValue) next = cur.has(k) ? k : undefined;
          if (next === undefined) return dflt;
          cur = next;
        }
        return cur;
      }
      const got = o.get(key);
      return got !== undefined ? got : dflt;
    },
  },
  "object.keys": {
    arity: 1,
    fn: (args) => SetValue.of(argObject("object.keys", args, 0).keys()),
  },
  "object.remove": {
    arity: 2,
    fn: (args) => {
      const o = argObject("object.remove", args, 0);
      const keys = keysOf("object.remove", args[1] as Value, 2);
      const out = new ObjectValue(new Map(o.entries));
      for (const k of keys) out.entries.delete(keyString(out, k));
      return new ObjectValue(new Map(out.entries));
    },
  },
  "object.filter": {
    arity: 2,
    fn: (args) => {
      const o = argObject("object.filter", args, 0);
      const keys = keysOf("object.filter", args[1] as Value, 2);
      const out = new ObjectValue();
      for (const k of keys) {
        const v = o.get(k);
        if (v !== undefined) out.set(k, v);
      }
      return out;
    },
  },
  "object.subset": {
    arity: 2,
    fn: ([sup, sub]) => {
      const ok = (v: Value) =>
        v instanceof ObjectValue || v instanceof SetValue || Array.isArray(v);
      if (!ok(sup as Value))
        throw operandError("object.subset", 1, "one of {array, object, set}", sup as Value);
      if (!ok(sub as Value))
        throw operandError("object.subset", 2, "one of {array, object, set}", sub as Value);
      if (sup instanceof ObjectValue !== sub instanceof ObjectValue) {
        throw operandError("object.subset", 2, "object", sub as Value);
      }
      return isSubset(sup as Value, sub as Value);
    },
  },
};

function keyString(o: ObjectValue, k: Value): string {
  for (const [ks, [kk]] of o.entries) if (equal(kk, k)) return ks;
  return "";
}
