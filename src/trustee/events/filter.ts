/**
 * Event queries: which events an admin asked for (`GET /kbs/v0/events?kind=…&verdict=…`), parsed
 * from query parameters with every value checked.
 */
import {
  EVENT_KINDS,
  EVENT_VERDICTS,
  EventError,
  type TrusteeEvent,
  type TrusteeEventKind,
  type TrusteeEventVerdict,
} from "./event.js";

/** A query over events. */
export interface EventFilter {
  kind?: TrusteeEventKind;
  verdict?: TrusteeEventVerdict;
  tee?: string;
  /** Resource path, exact. */
  resource?: string;
  /** Only events at or after this time (ms since the epoch). */
  since?: number;
  /** At most this many (the newest), default {@link DEFAULT_EVENT_LIMIT}. */
  limit?: number;
}

/** Events returned when no limit is given. */
export const DEFAULT_EVENT_LIMIT = 100;
/** The largest limit a query may ask for. */
export const MAX_EVENT_LIMIT = 10_000;

/** The query parameters {@link parseEventFilter} reads (and `follow`). */
export const EVENT_QUERY_PARAMS = [
  "kind",
  "verdict",
  "tee",
  "resource",
  "since",
  "limit",
  "follow",
] as const;

function bad(msg: string): never {
  throw new EventError("ERR_EVENT_FILTER", msg);
}

/** Parses query parameters into a filter; a bad value is ERR_EVENT_FILTER naming it. */
export function parseEventFilter(q: Readonly<Record<string, string>>): EventFilter {
  const f: EventFilter = {};
  if (q.kind !== undefined) {
    if (!(EVENT_KINDS as readonly string[]).includes(q.kind))
      bad(`kind must be one of ${EVENT_KINDS.join(", ")}`);
    f.kind = q.kind as TrusteeEventKind;
  }
  if (q.verdict !== undefined) {
    if (!(EVENT_VERDICTS as readonly string[]).includes(q.verdict))
      bad(`verdict must be one of ${EVENT_VERDICTS.join(", ")}`);
    f.verdict = q.verdict as TrusteeEventVerdict;
  }
  if (q.tee !== undefined) {
    if (!/^[a-z0-9-]{1,32}$/.test(q.tee)) bad("tee must be a TEE name such as snp or sample");
    f.tee = q.tee;
  }
  if (q.resource !== undefined) {
    if (q.resource.length > 512) bad("resource is longer than 512 characters");
    f.resource = q.resource;
  }
  if (q.since !== undefined) {
    const t = /^\d{1,13}$/.test(q.since) ? Number(q.since) : Date.parse(q.since);
    if (!Number.isFinite(t)) bad("since must be an RFC 3339 time or milliseconds since the epoch");
    f.since = t;
  }
  if (q.limit !== undefined) {
    const n = Number(q.limit);
    if (!/^\d{1,6}$/.test(q.limit) || n < 1 || n > MAX_EVENT_LIMIT)
      bad(`limit must be an integer from 1 to ${MAX_EVENT_LIMIT}`);
    f.limit = n;
  }
  if (q.follow !== undefined && q.follow !== "true" && q.follow !== "false")
    bad("follow must be true or false");
  return f;
}

/** Whether `e` matches `f` (ignoring `limit`). */
export function matchesFilter(e: TrusteeEvent, f: EventFilter): boolean {
  return (
    (f.kind === undefined || e.kind === f.kind) &&
    (f.verdict === undefined || e.verdict === f.verdict) &&
    (f.tee === undefined || e.tee === f.tee) &&
    (f.resource === undefined || e.resource === f.resource) &&
    (f.since === undefined || Date.parse(e.time) >= f.since)
  );
}
