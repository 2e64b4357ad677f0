/**
 * The decision middleware of the route table: after a row that decides something (an
 * attestation, a resource release, an admin call) answered or failed, one event goes to the
 * recorder (`trustee/events/`). It reads what the handler noted (TEE, token claims, resource
 * name, admin identity) and, on a refusal, the ErrorInformation the client got, whose detail
 * names the failed binding or rule and never holds a secret.
 */
import type { IncomingMessage } from "node:http";
import {
  appraisalOf,
  clip,
  type EventRecorder,
  type EventSubject,
  type TrusteeEventInput,
  type TrusteeEventKind,
} from "../events/index.js";
import { KbsServerError } from "./errors.js";
import type { DecisionNote, Route } from "./routes.js";

/** Options for {@link createDecisionRecorder}. */
export interface DecisionRecorderOptions {
  /**
   * Peer addresses of proxies whose `X-Forwarded-For` names the client (the load balancer in
   * front of replicas). From any other peer the header is ignored.
   */
  trustedProxies?: readonly string[];
}

/** Records the decision of one request. */
export type DecisionRecorder = (
  row: Route,
  req: IncomingMessage,
  note: DecisionNote,
  startedAt: number,
  failure?: unknown,
) => void;

/** The event kind a row records, if any. */
export function eventKindOf(row: Route): TrusteeEventKind | undefined {
  return row.event?.kind ?? (row.admin !== undefined ? "admin" : undefined);
}

const bare = (a: string | undefined) => (a?.startsWith("::ffff:") ? a.slice(7) : a);

/** The failing step's own code: the first cause that is not the KBS's wrapper. */
function failureCode(e: KbsServerError): string {
  let c: unknown = e.cause;
  for (let i = 0; i < 4 && c !== undefined && c !== null; i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_")) return code;
    c = (c as { cause?: unknown }).cause;
  }
  return e.code;
}

/** Creates the middleware's recording step over `events`. */
export function createDecisionRecorder(
  events: EventRecorder,
  opts: DecisionRecorderOptions = {},
): DecisionRecorder {
  const proxies = new Set(opts.trustedProxies ?? []);
  const clientOf = (req: IncomingMessage): string | undefined => {
    const peer = bare(req.socket.remoteAddress);
    const xff = req.headers["x-forwarded-for"];
    if (peer !== undefined && proxies.has(peer) && typeof xff === "string") {
      // The proxy appends the address it saw; anything before it came from the client.
      const last = xff.split(",").pop()?.trim();
      if (last !== undefined && /^[0-9A-Fa-f:.]{2,45}$/.test(last)) return last;
    }
    return peer;
  };

  return (row, req, note, startedAt, failure) => {
    const kind = eventKindOf(row);
    if (kind === undefined) return;
    const denied = failure !== undefined;
    // A success that decides nothing (a challenge handed out), and admin reads, are not events.
    if (!denied && (note.quiet === true || (kind === "admin" && row.method === "GET"))) return;
    // Not a decision either: the client went away, or a bug (logged by the handler).
    if (denied && !(failure instanceof KbsServerError)) return;
    const who: EventSubject = {};
    const client = clientOf(req);
    if (client !== undefined) who.client = client;
    if (note.session !== undefined) who.session = note.session;
    if (note.admin !== undefined) who.admin = note.admin;
    const input: TrusteeEventInput = {
      kind,
      verdict: denied ? "deny" : "allow",
      action: row.event?.action ?? `${row.method} ${row.path}`,
      who,
      duration_ms: Math.round((performance.now() - startedAt) * 1000) / 1000,
    };
    if (note.claims !== undefined) {
      const a = appraisalOf(note.claims);
      if (a.ear !== undefined) input.ear = a.ear;
      if (a.teeKey !== undefined) who.tee_key = a.teeKey;
      if (a.initData !== undefined) who.init_data = a.initData;
      if (note.tee === undefined && a.tee !== undefined) input.tee = a.tee;
    }
    if (note.tee !== undefined) input.tee = note.tee;
    if (note.resource !== undefined) input.resource = clip(note.resource, 512);
    if (failure instanceof KbsServerError) {
      input.failure = {
        type: failure.errorType,
        code: failureCode(failure),
        detail: clip(failure.message),
      };
    }
    events.record(input);
  };
}
