import { isNumber, ObjectValue, SetValue, typeName, type Value } from "../value/value.js";
import type { BuiltinTable } from "./types.js";

const is = (pred: (v: Value) => boolean) => ({
  arity: 1,
  fn: ([v]: readonly Value[]) => pred(v as Value),
});

/** Type builtins: is_* and type_name. */
export const typeBuiltins: BuiltinTable = {
  is_number: is(isNumber),
  is_string: is((v) => typeof v === "string"),
  is_boolean: is((v) => typeof v === "boolean"),
  is_array: is((v) => Array.isArray(v)),
  is_set: is((v) => v instanceof SetValue),
  is_object: is((v) => v instanceof ObjectValue),
  is_null: is((v) => v === null),
  type_name: { arity: 1, fn: ([v]) => typeName(v as Value) },
};
