import { normBig, type Value } from "../value/value.js";
import { argString, builtinError as prefixed } from "./args.js";
import type { BuiltinTable } from "./types.js";

/** Upstream's units errors already carry the builtin name, and topdown prefixes it again. */
const builtinError = (name: string, msg: string) => prefixed(name, `${name}: ${msg}`);

/** Longest exponent accepted in `1e123456`-style amounts (upstream: 6 digits). */
const MAX_EXPONENT_DIGITS = 6;

/** An exact rational `num / den` (den > 0). */
interface Rat {
  num: bigint;
  den: bigint;
}

class ExponentTooLarge extends Error {}

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";

/**
 * Splits `10.5e3Mi` into number text and unit text as upstream's `extractNumAndUnit` does:
 * the number is digits, `.`, signs and an `e`/`E` followed by a digit or sign.
 */
function splitNumUnit(s: string): [string, string] {
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    const numeric = isDigit(c) || c === "." || c === "+" || c === "-";
    if (!numeric && c !== "e" && c !== "E") return [s.slice(0, i), s.slice(i)];
    if (c === "e" || c === "E") {
      const next = s[i + 1];
      if (next === undefined || (!isDigit(next) && next !== "+" && next !== "-")) {
        return [s.slice(0, i), s.slice(i)];
      }
      if (next === "+" || next === "-") i++;
      let end = i + 1;
      while (isDigit(s[end])) end++;
      if (end - (i + 1) > MAX_EXPONENT_DIGITS) throw new ExponentTooLarge();
    }
  }
  return [s, ""];
}

/** Parses decimal text (`-1.5e3`, `.5`) exactly, as Go's `big.Rat.SetString`; undefined if bad. */
function parseRat(s: string): Rat | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m) return undefined;
  const [, sign, int = "", frac = "", exp] = m;
  if (int === "" && frac === "") return undefined;
  let num = BigInt(int + frac || "0");
  let den = 10n ** BigInt(frac.length);
  const e = exp === undefined ? 0 : Number(exp);
  if (e > 0) num *= 10n ** BigInt(e);
  else if (e < 0) den *= 10n ** BigInt(-e);
  if (sign === "-") num = -num;
  return { num, den };
}

/** Go's `big.Rat.FloatString(10)` read back as a number; integers stay exact. */
function ratToValue(r: Rat): Value {
  if (r.num % r.den === 0n) return normBig(r.num / r.den);
  const neg = r.num < 0n;
  const a = neg ? -r.num : r.num;
  // Round half away from zero at 10 decimals, as FloatString does.
  const scaled = (a * 10n ** 10n * 2n + r.den) / (2n * r.den);
  const int = scaled / 10n ** 10n;
  const frac = (scaled % 10n ** 10n).toString().padStart(10, "0");
  return Number(`${neg ? "-" : ""}${int}.${frac}`);
}

const BIN = (p: number) => 1n << BigInt(10 * p);
const SI = (p: number) => 1000n ** BigInt(p);

const UNIT_FACTORS: Record<string, Rat> = {
  "": { num: 1n, den: 1n },
  m: { num: 1n, den: 1000n },
};
for (const [i, l] of ["k", "m", "g", "t", "p", "e"].entries()) {
  const u = l.toUpperCase();
  if (l !== "m") UNIT_FACTORS[l] = { num: SI(i + 1), den: 1n };
  UNIT_FACTORS[u] = { num: SI(i + 1), den: 1n };
  UNIT_FACTORS[`${l}i`] = { num: BIN(i + 1), den: 1n };
  UNIT_FACTORS[`${u}i`] = { num: BIN(i + 1), den: 1n };
}

const BYTE_FACTORS: Record<string, bigint> = { "": 1n };
for (const [i, l] of ["k", "m", "g", "t", "p", "e"].entries()) {
  BYTE_FACTORS[l] = BYTE_FACTORS[`${l}b`] = SI(i + 1);
  BYTE_FACTORS[`${l}i`] = BYTE_FACTORS[`${l}ib`] = BIN(i + 1);
}

/** `units.parse`: SI and binary suffixes, `m` is milli; exact rational arithmetic. */
function unitsParse(raw: string): Value {
  const name = "units.parse";
  const s = raw.replaceAll('"', "");
  if (s.includes(" ")) throw builtinError(name, "spaces not allowed in resource strings");
  let num: string;
  let unit: string;
  try {
    [num, unit] = splitNumUnit(s);
  } catch (e) {
    if (e instanceof ExponentTooLarge) throw builtinError(name, "exponent too large");
    throw e;
  }
  if (num === "") throw builtinError(name, "no amount provided");
  // Only the letters after the first are case-folded, so `m` and `M` stay distinct.
  if (unit.length > 1) unit = unit[0] + unit.slice(1).toLowerCase();
  const f = Object.hasOwn(UNIT_FACTORS, unit) ? UNIT_FACTORS[unit] : undefined;
  if (!f) throw builtinError(name, `unit ${unit} not recognized`);
  const r = parseRat(num);
  if (!r) throw builtinError(name, "could not parse amount to a number");
  return ratToValue({ num: r.num * f.num, den: r.den * f.den });
}

/** `units.parse_bytes`: case-insensitive byte units, result truncated to an integer. */
function unitsParseBytes(raw: string): Value {
  const name = "units.parse_bytes";
  const s = raw.toLowerCase().replaceAll('"', "");
  if (s.includes(" ")) throw builtinError(name, "spaces not allowed in resource strings");
  let num: string;
  let unit: string;
  try {
    [num, unit] = splitNumUnit(s);
  } catch (e) {
    if (e instanceof ExponentTooLarge) throw builtinError(name, "exponent too large");
    throw e;
  }
  if (num === "") throw builtinError(name, "no byte amount provided");
  const f = Object.hasOwn(BYTE_FACTORS, unit) ? BYTE_FACTORS[unit] : undefined;
  if (f === undefined) throw builtinError(name, `byte unit ${unit} not recognized`);
  const r = parseRat(num);
  if (!r) throw builtinError(name, "could not parse byte amount to a number");
  // Truncation toward zero, as big.Float.Int does.
  return normBig((r.num * f) / r.den);
}

/** `units.*` builtins. */
export const unitsBuiltins: BuiltinTable = {
  "units.parse": { arity: 1, fn: (args) => unitsParse(argString("units.parse", args, 0)) },
  "units.parse_bytes": {
    arity: 1,
    fn: (args) => unitsParseBytes(argString("units.parse_bytes", args, 0)),
  },
};
