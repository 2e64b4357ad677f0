import { RegoError } from "../errors.js";
import {
  type ArrayValue,
  isNumber,
  ObjectValue,
  SetValue,
  typeName,
  type Value,
} from "../value/value.js";

/** OPA's `eval_type_error` for a bad operand: `<name>: operand <pos> must be <want> but got <type>`. */
export function operandError(name: string, pos: number, want: string, got: Value): RegoError {
  return new RegoError(
    "ERR_REGO_TYPE",
    `${name}: operand ${pos} must be ${want} but got ${typeName(got)}`,
  );
}

/** OPA's `eval_builtin_error`: `<name>: <message>`. */
export function builtinError(name: string, message: string): RegoError {
  return new RegoError("ERR_REGO_BUILTIN", `${name}: ${message}`);
}

/** Argument `i` (0-based) as a string, or an operand type error. */
export function argString(name: string, args: readonly Value[], i: number): string {
  const v = args[i] as Value;
  if (typeof v !== "string") throw operandError(name, i + 1, "string", v);
  return v;
}

/** Argument `i` as a number (JS number or bigint). */
export function argNumber(name: string, args: readonly Value[], i: number): number | bigint {
  const v = args[i] as Value;
  if (!isNumber(v)) throw operandError(name, i + 1, "number", v);
  return v;
}

/** Argument `i` as an integer-valued JS number (bigint converted when safe). */
export function argInt(name: string, args: readonly Value[], i: number): number {
  const v = argNumber(name, args, i);
  const n = Number(v);
  if (!Number.isInteger(n)) {
    throw new RegoError(
      "ERR_REGO_TYPE",
      `${name}: operand ${i + 1} must be integer number but got floating-point number`,
    );
  }
  return n;
}

/** Argument `i` as a boolean. */
export function argBool(name: string, args: readonly Value[], i: number): boolean {
  const v = args[i] as Value;
  if (typeof v !== "boolean") throw operandError(name, i + 1, "boolean", v);
  return v;
}

/** Argument `i` as an array. */
export function argArray(name: string, args: readonly Value[], i: number): ArrayValue {
  const v = args[i] as Value;
  if (!Array.isArray(v)) throw operandError(name, i + 1, "array", v);
  return v;
}

/** Argument `i` as an object. */
export function argObject(name: string, args: readonly Value[], i: number): ObjectValue {
  const v = args[i] as Value;
  if (!(v instanceof ObjectValue)) throw operandError(name, i + 1, "object", v);
  return v;
}

/** Argument `i` as a set. */
export function argSet(name: string, args: readonly Value[], i: number): SetValue {
  const v = args[i] as Value;
  if (!(v instanceof SetValue)) throw operandError(name, i + 1, "set", v);
  return v;
}

/** Elements of an array or set argument (`want` names the accepted types in the error). */
export function argArrayOrSet(
  name: string,
  args: readonly Value[],
  i: number,
  want = "one of {array, set}",
): readonly Value[] {
  const v = args[i] as Value;
  if (Array.isArray(v)) return v;
  if (v instanceof SetValue) return v.sorted();
  throw operandError(name, i + 1, want, v);
}
