/**
 * The failure message shape upstream's AA and CDH ttrpc servers answer with (status INTERNAL):
 * a fixed service prefix, what failed, then the coded cause, so a caller can tell why.
 */
import type { CallContext } from "./server.js";

/** A typed ttrpc handler, as {@link TtrpcServer.method} takes it. */
export type TypedHandler<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

/** `<prefix><what>: <code>: <detail>` for a failure (no code part when `err` carries none). */
export function failureMessage(prefix: string, what: string, err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  return `${prefix}${what}: ${typeof code === "string" ? `${code}: ` : ""}${detail}`;
}

/**
 * Returns a wrapper that turns a handler's failure into an Error whose message is
 * {@link failureMessage}`(prefix, what, err)`; the server sends that message as INTERNAL.
 */
export function failingAs(
  prefix: string,
): <Req, Res>(what: string, fn: TypedHandler<Req, Res>) => TypedHandler<Req, Res> {
  return (what, fn) => async (req, ctx) => {
    try {
      return await fn(req, ctx);
    } catch (err) {
      throw new Error(failureMessage(prefix, what, err));
    }
  };
}
