/**
 * `json.patch` (RFC 6902 over Rego values, including sets) as OPA's edit tree applies it:
 * object keys and set members are Rego values, array indexes are integers or decimal
 * strings (`-` appends), and any failing operation makes the whole call undefined.
 */
import { equal, isNumber, ObjectValue, SetValue, type Value } from "../value/value.js";

/** Thrown for a patch that cannot apply; the builtin turns it into undefined. */
export class PatchError extends Error {}

/** Splits a patch `path`/`from`: a `/`-separated pointer string or an array of segments. */
export function parsePointer(p: Value): Value[] {
  if (typeof p === "string") {
    if (p === "") return [];
    return p
      .replace(/^\/+/, "")
      .split("/")
      .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  }
  if (Array.isArray(p)) return [...p];
  throw new PatchError("path must be a string or an array");
}

function arrayIndex(len: number, seg: Value, forInsert: boolean): number {
  let i: number;
  if (isNumber(seg)) i = Number(seg);
  else if (typeof seg === "string") {
    if (seg === "-") i = len;
    else if (/^(0|[1-9][0-9]*)$/.test(seg)) i = Number(seg);
    else throw new PatchError(`invalid array index ${JSON.stringify(seg)}`);
  } else throw new PatchError("invalid array index");
  if (!Number.isInteger(i) || i < 0 || i > (forInsert ? len : len - 1)) {
    throw new PatchError("array index out of range");
  }
  return i;
}

function child(v: Value, seg: Value): Value {
  if (v instanceof ObjectValue) {
    const c = v.get(seg);
    if (c === undefined) throw new PatchError("path not found");
    return c;
  }
  if (v instanceof SetValue) {
    if (!v.has(seg)) throw new PatchError("path not found");
    return seg;
  }
  if (Array.isArray(v)) return v[arrayIndex(v.length, seg, false)] as Value;
  throw new PatchError("path not found");
}

function withChild(v: Value, seg: Value, f: (c: Value) => Value): Value {
  const c = child(v, seg);
  const nc = f(c);
  if (v instanceof ObjectValue) {
    const o = new ObjectValue(new Map(v.entries));
    o.set(seg, nc);
    return o;
  }
  if (v instanceof SetValue) {
    const s = SetValue.of([...v.values()].filter((x) => !equal(x, seg)));
    s.add(nc);
    return s;
  }
  const a = (v as readonly Value[]).slice();
  a[arrayIndex(a.length, seg, false)] = nc;
  return a;
}

/** Value at `path`, or a PatchError. */
export function getAt(doc: Value, path: readonly Value[]): Value {
  let v = doc;
  for (const seg of path) v = child(v, seg);
  return v;
}

function insertInto(parent: Value, seg: Value, value: Value): Value {
  if (parent instanceof ObjectValue) {
    const o = new ObjectValue(new Map(parent.entries));
    o.set(seg, value);
    return o;
  }
  if (parent instanceof SetValue) {
    if (!equal(seg, value)) throw new PatchError("set member must equal its key");
    const s = new SetValue(new Map(parent.items));
    s.add(value);
    return s;
  }
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent.length, seg, true);
    const a = parent.slice();
    a.splice(i, 0, value);
    return a;
  }
  throw new PatchError("cannot insert into a scalar");
}

function deleteFrom(parent: Value, seg: Value): Value {
  if (parent instanceof ObjectValue) {
    if (!parent.has(seg)) throw new PatchError("path not found");
    const o = new ObjectValue();
    for (const [k, e] of parent.entries.values()) if (!equal(k, seg)) o.set(k, e);
    return o;
  }
  if (parent instanceof SetValue) {
    if (!parent.has(seg)) throw new PatchError("path not found");
    return SetValue.of([...parent.values()].filter((x) => !equal(x, seg)));
  }
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent.length, seg, false);
    return parent.filter((_, j) => j !== i);
  }
  throw new PatchError("cannot delete from a scalar");
}

function edit(doc: Value, path: readonly Value[], f: (parent: Value, seg: Value) => Value): Value {
  if (path.length === 0) throw new PatchError("empty path");
  const go = (v: Value, i: number): Value =>
    i === path.length - 1
      ? f(v, path[i] as Value)
      : withChild(v, path[i] as Value, (c) => go(c, i + 1));
  return go(doc, 0);
}

/** Adds `value` at `path` (the empty path replaces the document). */
export function addAt(doc: Value, path: readonly Value[], value: Value): Value {
  if (path.length === 0) return value;
  return edit(doc, path, (p, s) => insertInto(p, s, value));
}

/** Removes the value at `path`. */
export function removeAt(doc: Value, path: readonly Value[]): Value {
  return edit(doc, path, deleteFrom);
}

function attr(op: ObjectValue, name: string): Value {
  const v = op.get(name);
  if (v === undefined) throw new PatchError(`missing '${name}' attribute`);
  return v;
}

/** Applies a JSON-Patch operation list; throws PatchError when any operation fails. */
export function applyPatch(doc: Value, ops: readonly Value[]): Value {
  let cur = doc;
  for (const raw of ops) {
    if (!(raw instanceof ObjectValue)) {
      throw new PatchError("must be an array of JSON-Patch objects");
    }
    const op = attr(raw, "op");
    if (typeof op !== "string") throw new PatchError("attribute 'op' must be a string");
    if (!["add", "remove", "replace", "move", "copy", "test"].includes(op)) {
      throw new PatchError(`unrecognized op '${op}'`);
    }
    const path = parsePointer(attr(raw, "path"));
    const from = op === "move" || op === "copy" ? parsePointer(attr(raw, "from")) : [];
    const value = op === "add" || op === "replace" || op === "test" ? attr(raw, "value") : null;
    switch (op) {
      case "add":
        cur = addAt(cur, path, value);
        break;
      case "remove":
        cur = removeAt(cur, path);
        break;
      case "replace":
        cur = addAt(path.length === 0 ? cur : removeAt(cur, path), path, value);
        break;
      case "move": {
        const chunk = getAt(cur, from);
        cur = addAt(removeAt(cur, from), path, chunk);
        break;
      }
      case "copy":
        cur = addAt(cur, path, getAt(cur, from));
        break;
      case "test":
        if (!equal(getAt(cur, path), value)) throw new PatchError("test failed");
        break;
    }
  }
  return cur;
}
