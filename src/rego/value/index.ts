export { formatValue } from "./format.js";
export {
  fromJs,
  type JsonValue,
  MAX_JSON_DEPTH,
  parseJsonValue,
  parseNumberLiteral,
  toJs,
  toJsonText,
} from "./json.js";
export {
  type ArrayValue,
  canonical,
  compare,
  compareNumbers,
  compareStrings,
  equal,
  isArray,
  isNumber,
  keyOf,
  normBig,
  numberText,
  ObjectValue,
  SetValue,
  type TypeName,
  typeName,
  type Value,
} from "./value.js";
