/**
 * coco-ts Rego engine: `createEngine()` and the value helpers embedders need. Sets come out
 * of the JSON-ish API as arrays sorted in OPA order; integers beyond 2^53 as bigint.
 */
export {
  createEngine,
  Engine,
  type ExpressionResult,
  type QueryResults,
  type QueryRow,
  type RawRow,
} from "./engine.js";
export { type Location, type OpaErrorCode, RegoError, type RegoErrorCode } from "./errors.js";
export type { Limits } from "./eval/context.js";
export type { PolicyDependencies } from "./eval/dependencies.js";
export { parseModule, parseQuery, parseTermText } from "./parser/parser.js";
export { renderQueryResults, renderRegoError } from "./render.js";
export { formatValue } from "./value/format.js";
export { fromJs, type JsonValue, parseJsonValue, toJs, toJsonText } from "./value/json.js";
export { compare, equal, ObjectValue, SetValue, type Value } from "./value/value.js";
