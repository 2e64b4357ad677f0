import { CocoError } from "../errors.js";

/** Every error code the Rego engine raises. */
export type RegoErrorCode =
  | "ERR_REGO_PARSE"
  | "ERR_REGO_COMPILE"
  | "ERR_REGO_TYPE"
  | "ERR_REGO_BUILTIN"
  | "ERR_REGO_CONFLICT"
  | "ERR_REGO_LIMIT"
  | "ERR_REGO_RULE_PATH"
  | "ERR_REGO_INPUT"
  | "ERR_REGO_UNSUPPORTED";

/** OPA's topdown error codes, so results can be compared with OPA's suite. */
export type OpaErrorCode =
  | "eval_type_error"
  | "eval_builtin_error"
  | "eval_conflict_error"
  | "rego_parse_error"
  | "rego_compile_error"
  | "rego_type_error"
  | "rego_unsafe_var_error"
  | "rego_recursion_error"
  | "eval_cancel_error"
  | "eval_internal_error";

const OPA_CODE: Record<RegoErrorCode, OpaErrorCode> = {
  ERR_REGO_PARSE: "rego_parse_error",
  ERR_REGO_COMPILE: "rego_compile_error",
  ERR_REGO_TYPE: "eval_type_error",
  ERR_REGO_BUILTIN: "eval_builtin_error",
  ERR_REGO_CONFLICT: "eval_conflict_error",
  ERR_REGO_LIMIT: "eval_cancel_error",
  ERR_REGO_RULE_PATH: "eval_internal_error",
  ERR_REGO_INPUT: "eval_internal_error",
  ERR_REGO_UNSUPPORTED: "eval_internal_error",
};

/** A source location: file name, 1-based line and column. */
export interface Location {
  file: string;
  line: number;
  col: number;
}

/** Error raised by the Rego lexer, parser, compiler or evaluator. */
export class RegoError extends CocoError<RegoErrorCode> {
  /** OPA's code for the same failure (`eval_type_error`, ...). */
  readonly opaCode: OpaErrorCode;
  /** Where in the policy the error happened, when known. */
  readonly location: Location | undefined;
  /** The message without the location/code prefix. */
  readonly detail: string;

  constructor(
    code: RegoErrorCode,
    message: string,
    options?: { cause?: unknown; location?: Location | undefined; opaCode?: OpaErrorCode },
  ) {
    super(
      code,
      options?.location
        ? `${options.location.file}:${options.location.line}: ${options.opaCode ?? OPA_CODE[code]}: ${message}`
        : message,
      options,
    );
    this.opaCode = options?.opaCode ?? OPA_CODE[code];
    this.location = options?.location;
    this.detail = message;
  }

  /** The same error, located at `loc` (kept as is when already located). */
  at(loc: Location | undefined): RegoError {
    if (this.location || !loc) return this;
    return new RegoError(this.code, this.detail, {
      cause: this.cause,
      location: loc,
      opaCode: this.opaCode,
    });
  }
}
