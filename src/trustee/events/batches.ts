/**
 * How events sit in Trustee's store: JSON lines in batches of at most {@link MAX_BATCH_BYTES},
 * one key per batch in namespace `kbs_event`. The key carries what sweeping and querying need
 * without reading the batch: `<first ms>-<last ms>-<replica>-<sequence>-<bytes>` (times as 13
 * digits, so keys sort by the batch's first event). Replicas share the namespace through the
 * shared store; each writes its own keys, so no write ever conflicts.
 */
import { EventError, type TrusteeEvent } from "./event.js";

/** Storage namespace of event batches. */
export const EVENT_NAMESPACE = "kbs_event";
/** Largest batch value. */
export const MAX_BATCH_BYTES = 64 * 1024;

/** What a batch key says. */
export interface BatchKey {
  key: string;
  first: number;
  last: number;
  replica: string;
  seq: number;
  bytes: number;
}

const KEY = /^(\d{13})-(\d{13})-([A-Za-z0-9_]{1,48})-(\d{1,15})-(\d{1,9})$/;

/** A replica name usable in a key: letters, digits and `_`, at most 48. */
export function toReplicaName(s: string): string {
  const r = s.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 48);
  return r === "" ? "trustee" : r;
}

const pad13 = (n: number) => String(Math.max(0, Math.floor(n))).padStart(13, "0");

/** The key of a batch. */
export function batchKey(b: Omit<BatchKey, "key">): string {
  return `${pad13(b.first)}-${pad13(b.last)}-${b.replica}-${b.seq}-${b.bytes}`;
}

/** Parses a key written by {@link batchKey}; undefined for anything else. */
export function parseBatchKey(key: string): BatchKey | undefined {
  const m = KEY.exec(key);
  if (m === null) return undefined;
  return {
    key,
    first: Number(m[1]),
    last: Number(m[2]),
    replica: m[3] as string,
    seq: Number(m[4]),
    bytes: Number(m[5]),
  };
}

/**
 * Splits serialized events (one JSON text each, in time order) into batches of at most
 * {@link MAX_BATCH_BYTES}; an event larger than that alone is a batch of its own.
 */
export function splitBatches(
  lines: readonly { line: string; at: number }[],
): { body: string; first: number; last: number; count: number }[] {
  const out: { body: string; first: number; last: number; count: number }[] = [];
  let cur: string[] = [];
  let size = 0;
  let first = 0;
  let last = 0;
  for (const { line, at } of lines) {
    const n = Buffer.byteLength(line) + 1;
    if (cur.length > 0 && size + n > MAX_BATCH_BYTES) {
      out.push({ body: `${cur.join("\n")}\n`, first, last, count: cur.length });
      cur = [];
      size = 0;
    }
    if (cur.length === 0) first = at;
    cur.push(line);
    size += n;
    last = Math.max(last, at);
  }
  if (cur.length > 0) out.push({ body: `${cur.join("\n")}\n`, first, last, count: cur.length });
  return out;
}

/** Parses a stored batch; a line that is not an event object is ERR_EVENT_RECORD. */
export function parseBatch(bytes: Uint8Array, key: string): TrusteeEvent[] {
  const out: TrusteeEvent[] = [];
  for (const line of Buffer.from(bytes).toString("utf8").split("\n")) {
    if (line === "") continue;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch (err) {
      throw new EventError("ERR_EVENT_RECORD", `event batch ${key} holds a line that is not JSON`, {
        cause: err,
      });
    }
    const ev = e as Partial<TrusteeEvent> | null;
    if (typeof ev?.id !== "string" || typeof ev.time !== "string" || typeof ev.kind !== "string") {
      throw new EventError("ERR_EVENT_RECORD", `event batch ${key} holds a line that is no event`);
    }
    out.push(ev as TrusteeEvent);
  }
  return out;
}

/**
 * Newest batch first: by last event, then first event, then replica, then the replica's batch
 * sequence compared as a number (as text, batch 19 sorted before batch 9 and was swept first).
 */
export function newestFirst(a: BatchKey, b: BatchKey): number {
  if (a.last !== b.last) return b.last - a.last;
  if (a.first !== b.first) return b.first - a.first;
  if (a.replica !== b.replica) return a.replica < b.replica ? 1 : -1;
  return b.seq - a.seq;
}

/**
 * The keys to delete so that what is left is younger than `retentionMs` and at most
 * `budgetBytes` in all (the newest batches are kept).
 */
export function keysToSweep(
  keys: readonly BatchKey[],
  now: number,
  retentionMs: number,
  budgetBytes: number,
): string[] {
  const byNewest = [...keys].sort(newestFirst);
  const drop: string[] = [];
  let total = 0;
  for (const k of byNewest) {
    total += k.bytes;
    if (k.last < now - retentionMs || total > budgetBytes) drop.push(k.key);
  }
  return drop;
}
