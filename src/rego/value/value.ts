/**
 * Rego values. Scalars are plain JS values (null, boolean, number, string, and bigint for
 * integers beyond 2^53); arrays are frozen JS arrays; objects and sets are the classes below,
 * keyed by a canonical string so any value can be a key. `undefined` (JS undefined) is Rego's
 * undefined: a value, never an exception.
 */
export type Value = null | boolean | number | bigint | string | ArrayValue | ObjectValue | SetValue;

/** A Rego array. Treated as immutable once built. */
export type ArrayValue = readonly Value[];

/** Rego's type names as `type_name` returns them. */
export type TypeName = "null" | "boolean" | "number" | "string" | "array" | "object" | "set";

/** A Rego object: an insertion-ordered map from any value to any value. */
export class ObjectValue {
  /** canonical key → [key, value] */
  readonly entries: Map<string, [Value, Value]>;
  private sortedCache: [Value, Value][] | undefined;
  private keyCache: string | undefined;

  constructor(entries?: Map<string, [Value, Value]>) {
    this.entries = entries ?? new Map();
  }

  /** Builds an object from string-keyed JS properties. */
  static fromRecord(rec: Record<string, Value>): ObjectValue {
    const o = new ObjectValue();
    for (const k of Object.keys(rec)) o.set(k, rec[k] as Value);
    return o;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: Value): Value | undefined {
    return this.entries.get(keyOf(key))?.[1];
  }

  has(key: Value): boolean {
    return this.entries.has(keyOf(key));
  }

  /** Mutates: only while building a fresh object. */
  set(key: Value, value: Value): void {
    this.entries.set(keyOf(key), [key, value]);
    this.sortedCache = undefined;
    this.keyCache = undefined;
  }

  /** Entries sorted by key in OPA order. */
  sorted(): [Value, Value][] {
    if (!this.sortedCache) {
      this.sortedCache = [...this.entries.values()].sort((a, b) => compare(a[0], b[0]));
    }
    return this.sortedCache;
  }

  keys(): Value[] {
    return [...this.entries.values()].map((e) => e[0]);
  }

  /** Canonical string (cached). */
  canonical(): string {
    if (this.keyCache === undefined) {
      let s = "{";
      for (const [k, v] of this.sorted()) s += `${canonical(k)}:${canonical(v)},`;
      this.keyCache = `${s}}`;
    }
    return this.keyCache;
  }
}

/** A Rego set of values. */
export class SetValue {
  readonly items: Map<string, Value>;
  private sortedCache: Value[] | undefined;
  private keyCache: string | undefined;

  constructor(items?: Map<string, Value>) {
    this.items = items ?? new Map();
  }

  /** Builds a set from values (duplicates collapse). */
  static of(values: Iterable<Value>): SetValue {
    const s = new SetValue();
    for (const v of values) s.add(v);
    return s;
  }

  get size(): number {
    return this.items.size;
  }

  has(v: Value): boolean {
    return this.items.has(keyOf(v));
  }

  /** Mutates: only while building a fresh set. */
  add(v: Value): void {
    this.items.set(keyOf(v), v);
    this.sortedCache = undefined;
    this.keyCache = undefined;
  }

  values(): IterableIterator<Value> {
    return this.items.values();
  }

  /** Elements in OPA order. */
  sorted(): Value[] {
    if (!this.sortedCache) this.sortedCache = [...this.items.values()].sort(compare);
    return this.sortedCache;
  }

  canonical(): string {
    if (this.keyCache === undefined) {
      let s = "<";
      for (const v of this.sorted()) s += `${canonical(v)},`;
      this.keyCache = `${s}>`;
    }
    return this.keyCache;
  }
}

/** Rego type name of a value. */
export function typeName(v: Value): TypeName {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return "boolean";
    case "number":
    case "bigint":
      return "number";
    case "string":
      return "string";
  }
  if (Array.isArray(v)) return "array";
  if (v instanceof ObjectValue) return "object";
  return "set";
}

/** True for numbers (JS number or bigint). */
export function isNumber(v: Value | undefined): v is number | bigint {
  return typeof v === "number" || typeof v === "bigint";
}

/** True for arrays. */
export function isArray(v: Value | undefined): v is ArrayValue {
  return Array.isArray(v);
}

const TYPE_RANK: Record<TypeName, number> = {
  null: 0,
  boolean: 1,
  number: 2,
  string: 3,
  array: 4,
  object: 5,
  set: 6,
};

/** Canonical string of a value, used as map key: equal values give equal strings. */
export function canonical(v: Value): string {
  if (v === null) return "n";
  switch (typeof v) {
    case "boolean":
      return v ? "t" : "f";
    case "number":
      return `#${numberText(v)}`;
    case "bigint":
      return `#${v}`;
    case "string":
      return JSON.stringify(v);
  }
  if (Array.isArray(v)) {
    let s = "[";
    for (const e of v) s += `${canonical(e)},`;
    return `${s}]`;
  }
  return (v as ObjectValue | SetValue).canonical();
}

/** Map key for a value: strings map to themselves (fast path), others to a tagged canonical. */
export function keyOf(v: Value): string {
  if (typeof v === "string") return v.length > 0 && v.charCodeAt(0) === 0 ? `\u0000s${v}` : v;
  return `\u0000${canonical(v)}`;
}

/** Compares two numbers by value (number or bigint). */
export function compareNumbers(a: number | bigint, b: number | bigint): number {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  // Mixed: compare exactly when the float is an integer, otherwise via floats.
  const fa = typeof a === "number" ? a : b;
  const big = typeof a === "bigint" ? a : (b as bigint);
  const f = fa as number;
  let r: number;
  if (Number.isInteger(f)) {
    const bf = BigInt(f);
    r = bf < big ? -1 : bf > big ? 1 : 0;
  } else {
    const nb = Number(big);
    r = f < nb ? -1 : f > nb ? 1 : 0;
  }
  return typeof a === "number" ? r : -r;
}

/** Go-style byte-wise string comparison (UTF-8 order equals code point order). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      // Surrogates (astral code points) sort above all BMP chars in UTF-8/code point order.
      const sa = ca >= 0xd800 && ca <= 0xdfff;
      const sb = cb >= 0xd800 && cb <= 0xdfff;
      if (sa !== sb) return sa ? 1 : -1;
      return ca < cb ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** OPA's total order: null < boolean < number < string < array < object < set. */
export function compare(a: Value, b: Value): number {
  if (a === b) return 0;
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta !== tb) return TYPE_RANK[ta] < TYPE_RANK[tb] ? -1 : 1;
  switch (ta) {
    case "null":
      return 0;
    case "boolean":
      return a === b ? 0 : a === false ? -1 : 1;
    case "number":
      return compareNumbers(a as number | bigint, b as number | bigint);
    case "string":
      return compareStrings(a as string, b as string);
    case "array":
      return compareSeq(a as ArrayValue, b as ArrayValue);
    case "set":
      return compareSeq((a as SetValue).sorted(), (b as SetValue).sorted());
    case "object": {
      const ea = (a as ObjectValue).sorted();
      const eb = (b as ObjectValue).sorted();
      const n = Math.min(ea.length, eb.length);
      for (let i = 0; i < n; i++) {
        const [ka, va] = ea[i]!;
        const [kb, vb] = eb[i]!;
        const c = compare(ka, kb);
        if (c !== 0) return c;
        const d = compare(va, vb);
        if (d !== 0) return d;
      }
      return ea.length < eb.length ? -1 : ea.length > eb.length ? 1 : 0;
    }
  }
}

function compareSeq(a: readonly Value[], b: readonly Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compare(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Rego equality (numbers by value, sets and objects by content). */
export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  const t = typeof a;
  if (t === "string" || t === "boolean" || a === null || b === null) return false;
  if (t === "number" || t === "bigint") {
    return isNumber(b) && compareNumbers(a as number | bigint, b) === 0;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof ObjectValue) {
    if (!(b instanceof ObjectValue) || a.size !== b.size) return false;
    for (const [k, [, v]] of a.entries) {
      const o = b.entries.get(k);
      if (!o || !equal(v, o[1])) return false;
    }
    return true;
  }
  if (a instanceof SetValue) {
    if (!(b instanceof SetValue) || a.size !== b.size) return false;
    for (const k of a.items.keys()) if (!b.items.has(k)) return false;
    return true;
  }
  return false;
}

/** Normalises a bigint to a JS number when it is exactly representable. */
export function normBig(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(n)
    : n;
}

/** Decimal text of a number: integers without exponent (exact), others as JS prints them. */
export function numberText(v: number | bigint): string {
  if (typeof v === "bigint") return BIG_LITERAL_TEXT.get(v) ?? v.toString();
  if (Number.isInteger(v) && !Number.isSafeInteger(v) && Math.abs(v) < 1e300) {
    return BigInt(v).toString();
  }
  return Object.is(v, -0) ? "0" : String(v);
}

/**
 * Source text of number literals beyond float64 range (e.g. `2e308`), which OPA prints as
 * written (it keeps json.Number text). Bounded; only affects formatting, never equality.
 */
const BIG_LITERAL_TEXT = new Map<bigint, string>();

/** Remembers how a huge integer literal was written (see {@link numberText}). */
export function rememberBigLiteral(v: bigint, text: string): void {
  if (BIG_LITERAL_TEXT.size < 1000) BIG_LITERAL_TEXT.set(v, text);
}
