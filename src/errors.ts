/**
 * Base class for every coded error in coco-ts. Each library defines its own subclass with a
 * closed union of `code` strings; callers branch on `code`, never on message text.
 */
export class CocoError<Code extends string = string> extends Error {
  /** Stable machine-readable code, e.g. `ERR_REGO_LIMIT`. */
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `err` is a CocoError carrying `code`. */
export function hasCode<C extends string>(err: unknown, code: C): err is CocoError<C> {
  return err instanceof CocoError && err.code === code;
}
