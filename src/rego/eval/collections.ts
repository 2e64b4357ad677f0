import { ObjectValue, SetValue, type Value } from "../value/value.js";

/** Indexes a value by a key as a Rego ref does; undefined when absent. */
export function index(v: Value, key: Value): Value | undefined {
  if (Array.isArray(v)) {
    if (typeof key === "number" && Number.isInteger(key) && key >= 0 && key < v.length) {
      return v[key];
    }
    return undefined;
  }
  if (v instanceof ObjectValue) return v.get(key);
  if (v instanceof SetValue) return v.has(key) ? key : undefined;
  return undefined;
}

/** Calls `fn(key, value)` for each element of a collection; stops when `fn` returns true. */
export function iterate(v: Value, fn: (key: Value, val: Value) => boolean): boolean {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (fn(i, v[i] as Value)) return true;
    return false;
  }
  // Objects and sets iterate in OPA's key order (as OPA and regorus do), so `print` traces and
  // the first failing element of `every` are the same as upstream's.
  if (v instanceof ObjectValue) {
    for (const [k, val] of v.sorted()) if (fn(k, val)) return true;
    return false;
  }
  if (v instanceof SetValue) {
    for (const e of v.sorted()) if (fn(e, e)) return true;
    return false;
  }
  return false;
}

/** Returns a copy of `base` with `value` stored at `path` (objects created as needed). */
export function setPath(base: Value | undefined, path: readonly Value[], value: Value): Value {
  if (path.length === 0) return value;
  const o =
    base instanceof ObjectValue ? new ObjectValue(new Map(base.entries)) : new ObjectValue();
  const [first, ...rest] = path;
  o.set(first as Value, setPath(o.get(first as Value), rest, value));
  return o;
}
