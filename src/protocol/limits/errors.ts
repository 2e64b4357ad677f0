import { CocoError } from "../../errors.js";

/** Codes for documents refused by a parse limit. */
export type ParseLimitErrorCode =
  /** Nesting deeper than allowed. */
  | "ERR_LIMIT_DEPTH"
  /** More keys in one object (or in the document) than allowed. */
  | "ERR_LIMIT_KEYS"
  /** A string longer than allowed. */
  | "ERR_LIMIT_STRING"
  /** More values in the document than allowed. */
  | "ERR_LIMIT_VALUES"
  /** The document is larger than allowed. */
  | "ERR_LIMIT_SIZE"
  /** An object names the same key twice. */
  | "ERR_LIMIT_DUPLICATE_KEY"
  /** YAML aliases beyond the allowed count. */
  | "ERR_LIMIT_ALIASES"
  /** Not valid JSON, TOML or YAML (after the limits passed). */
  | "ERR_LIMIT_SYNTAX";

/**
 * A document refused by a limit before (or while) it was parsed. The message names the
 * limit and never quotes the input.
 */
export class ParseLimitError extends CocoError<ParseLimitErrorCode> {}
