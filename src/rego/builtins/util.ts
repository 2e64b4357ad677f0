import { isNumber, type Value } from "../value/value.js";

/** True when the string is pure ASCII (so UTF-16 indexes equal code point indexes). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Code points of a string. */
export function runes(s: string): string[] {
  return Array.from(s);
}

/** Number of code points. */
export function runeLength(s: string): number {
  return isAscii(s) ? s.length : Array.from(s).length;
}

/** True for integer-valued numbers. */
export function isInt(v: Value): v is number | bigint {
  return typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v));
}

/** Numeric value as float (for non-exact operations). */
export function toFloat(v: Value): number {
  return isNumber(v) ? Number(v) : Number.NaN;
}
