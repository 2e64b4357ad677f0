import { RegoError } from "../errors.js";
import { ObjectValue, SetValue, typeName, type Value } from "../value/value.js";
import { argArray, argObject, argString, builtinError, operandError } from "./args.js";
import { operandMessage } from "./encoding.js";
import { goJson, parseGoJson } from "./gojson.js";
import { applyPatch, PatchError, parsePointer } from "./json-patch.js";
import type { BuiltinTable } from "./types.js";

/** Paths for json.filter/json.remove: `/a/b` strings or arrays of segments. */
function jsonPaths(name: string, v: Value): Value[][] {
  let items: readonly Value[];
  if (Array.isArray(v)) items = v;
  else if (v instanceof SetValue) items = v.sorted();
  else throw operandError(name, 2, "one of {set, array}", v);
  return items.map((p) => {
    if (typeof p !== "string" && !Array.isArray(p)) {
      throw operandMessage(
        name,
        2,
        `must be one of {set, array} containing string paths or array of path segments but got ${typeName(p)}`,
      );
    }
    return parsePointer(p);
  });
}

/** Builds OPA's path tree: nested objects whose leaves are `null` (a prefix wins). */
function pathsToTree(paths: Value[][]): ObjectValue {
  const root = new ObjectValue();
  for (const path of paths) {
    if (path.length === 0) continue;
    let node = root;
    let done = false;
    for (let i = 0; i < path.length - 1 && !done; i++) {
      const k = path[i] as Value;
      const c = node.get(k);
      if (c === undefined) {
        const o = new ObjectValue();
        node.set(k, o);
        node = o;
      } else if (c === null) done = true;
      else node = c as ObjectValue;
    }
    if (!done) node.set(path[path.length - 1] as Value, null);
  }
  return root;
}

/** OPA's `filterObject`: keeps only what the path tree selects. */
function filterValue(v: Value, filter: Value): Value {
  if (filter === null) return v;
  const f = filter as ObjectValue;
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((e, i) => {
      const sub = f.get(String(i));
      if (sub !== undefined) out.push(filterValue(e, sub));
    });
    return out;
  }
  if (v instanceof SetValue) {
    const out = new SetValue();
    for (const e of v.sorted()) {
      const sub = f.get(e);
      if (sub !== undefined) out.add(filterValue(e, sub));
    }
    return out;
  }
  if (v instanceof ObjectValue) {
    const out = new ObjectValue();
    for (const [k, e] of v.entries.values()) {
      const sub = f.get(k);
      if (sub !== undefined) out.set(k, filterValue(e, sub));
    }
    return out;
  }
  return v;
}

/** OPA's `jsonRemove`: drops what the path tree's `null` leaves select; arrays close up. */
function removeValue(v: Value, tree: Value | undefined): Value | undefined {
  if (tree === undefined) return v;
  if (tree === null) return undefined;
  if (!(tree instanceof ObjectValue)) return v;
  if (v instanceof ObjectValue) {
    const out = new ObjectValue();
    for (const [k, e] of v.entries.values()) {
      const r = removeValue(e, tree.get(k));
      if (r !== undefined) out.set(k, r);
    }
    return out;
  }
  if (v instanceof SetValue) {
    const out = new SetValue();
    for (const e of v.values()) {
      const r = removeValue(e, tree.get(e));
      if (r !== undefined) out.add(r);
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((e, i) => {
      // Upstream looks array positions up by their decimal string only.
      const r = removeValue(e, tree.get(String(i)));
      if (r !== undefined) out.push(r);
    });
    return out;
  }
  return v;
}

/** `json.marshal_with_options` options, checked as upstream does. */
function marshalOptions(opts: ObjectValue): { prefix: string; indent: string } | undefined {
  const name = "json.marshal_with_options";
  let prefix = "";
  let indent = "\t";
  let implicit = false;
  let explicit: boolean | undefined;
  for (const [k, v] of opts.entries.values()) {
    if (typeof k !== "string") {
      throw operandMessage(name, 2, `failed to stringify key ${goJson(k)}`);
    }
    switch (k) {
      case "prefix":
        if (typeof v !== "string")
          throw operandMessage(name, 2, `key "${k}" failed cast to string`);
        prefix = v;
        implicit = true;
        break;
      case "indent":
        if (typeof v !== "string")
          throw operandMessage(name, 2, `key "${k}" failed cast to string`);
        indent = v;
        implicit = true;
        break;
      case "pretty":
        if (typeof v !== "boolean") throw operandMessage(name, 2, `key "${k}" failed cast to bool`);
        explicit = v;
        break;
      default:
        throw operandMessage(name, 2, `object contained unknown key ${JSON.stringify(k)}`);
    }
  }
  return (explicit ?? implicit) ? { prefix, indent } : undefined;
}

/** `json.*` builtins (marshal, unmarshal, is_valid, filter, remove, patch). */
export const jsonBuiltins: BuiltinTable = {
  "json.marshal": { arity: 1, fn: ([v]) => goJson(v as Value) },
  "json.marshal_with_options": {
    arity: 2,
    fn: (args) => {
      const pretty = marshalOptions(argObject("json.marshal_with_options", args, 1));
      const v = args[0] as Value;
      return pretty ? pretty.prefix + goJson(v, pretty) : goJson(v);
    },
  },
  "json.unmarshal": {
    arity: 1,
    fn: (args) => {
      const s = argString("json.unmarshal", args, 0);
      try {
        return parseGoJson(s);
      } catch (e) {
        throw builtinError("json.unmarshal", (e as Error).message);
      }
    },
  },
  "json.is_valid": {
    arity: 1,
    fn: ([s]) => {
      if (typeof s !== "string") return false;
      try {
        parseGoJson(s);
        return true;
      } catch (e) {
        if (e instanceof RegoError) throw e;
        return false;
      }
    },
  },
  "json.filter": {
    arity: 2,
    fn: (args) => {
      const obj = argObject("json.filter", args, 0);
      return filterValue(obj, pathsToTree(jsonPaths("json.filter", args[1] as Value)));
    },
  },
  "json.remove": {
    arity: 2,
    fn: (args) => {
      const obj = argObject("json.remove", args, 0);
      return removeValue(obj, pathsToTree(jsonPaths("json.remove", args[1] as Value)));
    },
  },
  "json.patch": {
    arity: 2,
    fn: (args) => {
      const ops = argArray("json.patch", args, 1);
      try {
        return applyPatch(args[0] as Value, ops);
      } catch (e) {
        // Upstream: a patch that does not apply makes the call undefined, not an error.
        if (e instanceof PatchError) return undefined;
        throw e;
      }
    },
  },
};
