import {
  type ArrayValue,
  isNumber,
  numberText,
  type ObjectValue,
  SetValue,
  type Value,
} from "./value.js";

/** Formatted text of composite values (they are immutable once built), so repeated prints of
 * the same large input document cost one formatting. */
const cache = new WeakMap<object, string>();

/** Formats a value in Rego syntax, as OPA's `print` and `sprintf("%v")` do. */
export function formatValue(v: Value | undefined): string {
  if (typeof v === "object" && v !== null) {
    const hit = cache.get(v);
    if (hit !== undefined) return hit;
    const s = formatUncached(v);
    cache.set(v, s);
    return s;
  }
  return formatUncached(v);
}

function formatUncached(v: Value | undefined): string {
  if (v === undefined) return "<undefined>";
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (isNumber(v)) return numberText(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${(v as ArrayValue).map(formatValue).join(", ")}]`;
  if (v instanceof SetValue) {
    if (v.size === 0) return "set()";
    return `{${v.sorted().map(formatValue).join(", ")}}`;
  }
  const o = v as ObjectValue;
  return `{${o
    .sorted()
    .map(([k, e]) => `${formatValue(k)}: ${formatValue(e)}`)
    .join(", ")}}`;
}
