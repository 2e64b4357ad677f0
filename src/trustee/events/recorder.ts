/**
 * The event recorder: `record()` is synchronous and cheap (it runs inside the KBS hot path); a
 * timer writes what was recorded to the store as one batch per second, sweeps the namespace to
 * its byte and age bounds, and followers (the JSON-lines stream, the dashboard) get each event
 * as it is recorded here and, within a second, those other replicas wrote to the shared store.
 * If the store is down, unwritten events wait in memory (bounded; the oldest are dropped and
 * counted) and are written when it is back.
 */
import { hostname } from "node:os";
import type { KeyValueStore } from "../storage/types.js";
import {
  type BatchKey,
  batchKey,
  EVENT_NAMESPACE,
  keysToSweep,
  newestFirst,
  parseBatch,
  parseBatchKey,
  splitBatches,
  toReplicaName,
} from "./batches.js";
import { compareEvents, type TrusteeEvent, type TrusteeEventInput } from "./event.js";
import { DEFAULT_EVENT_LIMIT, type EventFilter, matchesFilter } from "./filter.js";

/** Options for {@link createEventRecorder}. */
export interface EventRecorderOptions {
  store: KeyValueStore;
  /** This process's name in event ids (default `<hostname>_<pid>`). */
  replica?: string;
  /** How often recorded events are written (default 1,000 ms). */
  flushIntervalMs?: number;
  /** Byte budget of the namespace, all replicas together (default 64 MiB). */
  storeBytes?: number;
  /** Age after which batches are swept (default 30 days). */
  retentionMs?: number;
  /** Unwritten events kept while the store fails (default 10,000; the oldest go first). */
  maxPending?: number;
  /** How often the namespace is swept (default 60 s). */
  sweepIntervalMs?: number;
  /** How often other replicas' batches are read for followers (default 1,000 ms). */
  pollIntervalMs?: number;
  log?: (line: string) => void;
  now?: () => number;
}

/** Counters of a recorder. */
export interface EventRecorderStats {
  recorded: number;
  written: number;
  /** Dropped because the store failed for longer than `maxPending` events. */
  dropped: number;
  pending: number;
}

/** Records, stores, queries and streams events. */
export interface EventRecorder {
  readonly replica: string;
  /** Records one decision (synchronous; never throws). */
  record(input: TrusteeEventInput): void;
  /** The newest `filter.limit` matching events of all replicas, oldest first. */
  query(filter?: EventFilter): Promise<TrusteeEvent[]>;
  /** Calls `listener` with each matching event from now on; returns the unsubscribe. */
  follow(filter: EventFilter, listener: (e: TrusteeEvent) => void): () => void;
  /** Writes what is pending now. */
  flush(): Promise<void>;
  stats(): EventRecorderStats;
  /** Flushes, stops the timers and ends followers. */
  close(): Promise<void>;
}

/** An event not yet written: its JSON line only (the object is not kept, for the GC's sake). */
interface Pending {
  line: string;
  at: number;
}

interface Follower {
  filter: EventFilter;
  listener: (e: TrusteeEvent) => void;
}

/** Creates a recorder over Trustee's store. */
export function createEventRecorder(opts: EventRecorderOptions): EventRecorder {
  const { store } = opts;
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  const replica = toReplicaName(opts.replica ?? `${hostname()}_${process.pid}`);
  const storeBytes = opts.storeBytes ?? 64 * 1024 * 1024;
  const retentionMs = opts.retentionMs ?? 30 * 24 * 3600 * 1000;
  const maxPending = opts.maxPending ?? 10_000;
  let pending: Pending[] = [];
  let seq = 0;
  let batchSeq = 0;
  const stats = { recorded: 0, written: 0, dropped: 0 };
  const followers = new Set<Follower>();
  let flushing: Promise<void> | undefined;
  let failing = false;
  let closed = false;

  const emit = (e: TrusteeEvent, followersOf: Iterable<Follower>) => {
    for (const f of followersOf) {
      if (!matchesFilter(e, f.filter)) continue;
      try {
        f.listener(e);
      } catch {
        // A follower's failure is its own (its connection went away).
      }
    }
  };

  // Bytes written since the last sweep: a flood of decisions (refused handshakes cost an
  // attacker nothing) triggers a sweep at once instead of waiting for the timer, so the
  // namespace never holds more than the budget plus an eighth of it plus one flush.
  let sinceSweep = 0;
  const writeOnce = async (): Promise<void> => {
    if (pending.length === 0) return;
    const taken = pending;
    pending = [];
    const batches = splitBatches(taken);
    let done = 0;
    try {
      for (const b of batches) {
        const bytes = Buffer.from(b.body, "utf8");
        const key = batchKey({
          first: b.first,
          last: b.last,
          replica,
          seq: batchSeq++,
          bytes: bytes.length,
        });
        await store.put(EVENT_NAMESPACE, key, bytes);
        done += b.count;
        sinceSweep += bytes.length;
      }
      stats.written += done;
      if (failing) log(`trustee: events: store writable again (${stats.written} written)`);
      failing = false;
      if (sinceSweep > storeBytes / 8) await sweep();
    } catch (err) {
      // Keep what was not written, in front of what arrived meanwhile, within the bound.
      pending = [...taken.slice(done), ...pending];
      stats.written += done;
      if (pending.length > maxPending) {
        const over = pending.length - maxPending;
        pending = pending.slice(over);
        stats.dropped += over;
      }
      if (!failing) {
        log(
          `trustee: events: cannot write to the store (${(err as Error).message}); keeping up to ${maxPending} in memory`,
        );
      }
      failing = true;
    }
  };

  const flush = (): Promise<void> => {
    // One write at a time: a slow store must not get overlapping batches from one replica.
    flushing ??= writeOnce().finally(() => {
      flushing = undefined;
    });
    return flushing;
  };

  const listBatches = async (): Promise<BatchKey[]> => {
    const out: BatchKey[] = [];
    for (const k of await store.list(EVENT_NAMESPACE)) {
      const b = parseBatchKey(k);
      if (b !== undefined) out.push(b);
    }
    return out;
  };

  const sweep = async (): Promise<void> => {
    sinceSweep = 0;
    try {
      const drop = keysToSweep(await listBatches(), now(), retentionMs, storeBytes);
      for (const k of drop) await store.delete(EVENT_NAMESPACE, k);
    } catch (err) {
      log(`trustee: events: sweep failed (${(err as Error).message})`);
    }
  };

  // Followers see other replicas' batches by polling the store, only while someone follows.
  let seen: Set<string> | undefined;
  let polling = false;
  const poll = async (): Promise<void> => {
    if (followers.size === 0 || polling) return;
    polling = true;
    try {
      const keys = await listBatches();
      const fresh = keys.filter((k) => k.replica !== replica && !seen?.has(k.key));
      const first = seen === undefined;
      seen = new Set(keys.map((k) => k.key));
      if (first) return;
      for (const k of fresh) {
        const v = await store.get(EVENT_NAMESPACE, k.key);
        if (v === undefined) continue;
        for (const e of parseBatch(v, k.key)) emit(e, followers);
      }
    } catch (err) {
      log(`trustee: events: reading other replicas' events failed (${(err as Error).message})`);
    } finally {
      polling = false;
    }
  };

  const flushTimer = setInterval(() => void flush(), opts.flushIntervalMs ?? 1000);
  flushTimer.unref();
  const sweepTimer = setInterval(() => void sweep(), opts.sweepIntervalMs ?? 60_000);
  sweepTimer.unref();
  const pollTimer = setInterval(() => void poll(), opts.pollIntervalMs ?? 1000);
  pollTimer.unref();

  return {
    replica,
    record(input) {
      if (closed) return;
      const { at: given, ...fields } = input;
      const at = given ?? now();
      // Built without `at` rather than deleting it afterwards: a deleted member turns the object
      // into a dictionary, which JSON.stringify walks more slowly (two events per handshake).
      const event: TrusteeEvent = {
        id: `${String(at).padStart(13, "0")}-${replica}-${seq++}`,
        time: new Date(at).toISOString(),
        replica,
        ...fields,
      };
      stats.recorded++;
      pending.push({ line: JSON.stringify(event), at });
      if (pending.length > maxPending * 2) {
        // The timer has not run for a long time (a blocked store write): bound memory anyway.
        const over = pending.length - maxPending;
        pending = pending.slice(over);
        stats.dropped += over;
      }
      if (followers.size > 0) emit(event, followers);
    },
    async query(filter = {}) {
      const limit = filter.limit ?? DEFAULT_EVENT_LIMIT;
      const found = new Map<string, TrusteeEvent>();
      for (const p of pending) {
        const e = JSON.parse(p.line) as TrusteeEvent;
        if (matchesFilter(e, filter)) found.set(e.id, e);
      }
      const batches = (await listBatches()).sort(newestFirst);
      let oldestKept = Number.POSITIVE_INFINITY;
      for (const b of batches) {
        if (filter.since !== undefined && b.last < filter.since) continue;
        // Enough, and every remaining batch ends before the oldest event we would return.
        if (found.size >= limit && b.last < oldestKept) break;
        const v = await store.get(EVENT_NAMESPACE, b.key);
        if (v === undefined) continue; // swept meanwhile
        for (const e of parseBatch(v, b.key)) {
          if (matchesFilter(e, filter)) found.set(e.id, e);
        }
        if (found.size >= limit) {
          const times = [...found.values()].map((e) => Date.parse(e.time)).sort((x, y) => y - x);
          oldestKept = times[limit - 1] ?? Number.NEGATIVE_INFINITY;
        }
      }
      const all = [...found.values()].sort(compareEvents);
      return all.slice(Math.max(0, all.length - limit));
    },
    follow(filter, listener) {
      const f: Follower = { filter, listener };
      followers.add(f);
      if (followers.size === 1) {
        seen = undefined;
        void poll();
      }
      return () => {
        followers.delete(f);
      };
    },
    flush,
    stats: () => ({ ...stats, pending: pending.length }),
    async close() {
      if (closed) return;
      clearInterval(flushTimer);
      clearInterval(sweepTimer);
      clearInterval(pollTimer);
      await flush();
      closed = true;
      followers.clear();
    },
  };
}
