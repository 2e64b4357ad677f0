/**
 * A read cache in front of a shared {@link KeyValueStore}, for the namespaces every request
 * reads (resources, the resource policy, attestation policies). Writes through this cache
 * invalidate at once; a write made by another process (replica or worker) becomes visible
 * here within `ttlMs` (default 1 s, like the RVPS snapshot). Other namespaces (replay ledger,
 * sessions) pass straight through.
 */
import type { KeyValueStore } from "./types.js";

/** Options of {@link createCachedStore}. */
export interface CachedStoreOptions {
  /** Namespaces whose reads are cached. */
  namespaces: readonly string[];
  /** How long a read may be reused, in ms (default 1000). */
  ttlMs?: number;
  /** Entries kept at most (least recently used dropped first; default 1024). */
  maxEntries?: number;
  /** Values larger than this are not cached (default 1 MiB). */
  maxValueBytes?: number;
  /** Bytes of cached values at most, all entries together (default 32 MiB). */
  maxTotalBytes?: number;
  now?: () => number;
}

interface Entry {
  value: Uint8Array | undefined;
  expires: number;
}

/** Wraps `inner` with a bounded, short-lived read cache. */
export function createCachedStore(inner: KeyValueStore, opts: CachedStoreOptions): KeyValueStore {
  const cached = new Set(opts.namespaces);
  const ttl = opts.ttlMs ?? 1000;
  const max = opts.maxEntries ?? 1024;
  const maxBytes = opts.maxValueBytes ?? 1024 * 1024;
  const maxTotal = opts.maxTotalBytes ?? 32 * 1024 * 1024;
  let total = 0;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();
  // Bumped by every local write: a read that started before a write must not refill the cache
  // with what it read (it may be the old value).
  let generation = 0;
  const inFlight = new Map<string, { generation: number; read: Promise<Uint8Array | undefined> }>();
  const id = (ns: string, key: string) => `${ns}\0${key}`;
  const copy = (v: Uint8Array | undefined) => (v === undefined ? undefined : v.slice());
  const size = (e: Entry) => e.value?.length ?? 0;
  const drop = (k: string) => {
    const e = entries.get(k);
    if (e === undefined) return;
    entries.delete(k);
    total -= size(e);
  };
  const invalidate = (ns: string, key: string) => {
    generation++;
    drop(id(ns, key));
  };

  return {
    async get(ns, key) {
      if (!cached.has(ns)) return inner.get(ns, key);
      const k = id(ns, key);
      const hit = entries.get(k);
      if (hit !== undefined) {
        entries.delete(k);
        if (hit.expires > now()) {
          entries.set(k, hit); // most recently used last
          return copy(hit.value);
        }
        total -= size(hit);
      }
      // Concurrent misses of one key share one read (64 requests arriving as an entry expires
      // made 64 reads of the same file), unless a local write came since that read began.
      const flying = inFlight.get(k);
      if (flying !== undefined && flying.generation === generation) {
        return copy(await flying.read);
      }
      const started = generation;
      const read = inner.get(ns, key);
      const mine = { generation: started, read };
      inFlight.set(k, mine);
      let value: Uint8Array | undefined;
      try {
        value = await read;
      } finally {
        if (inFlight.get(k) === mine) inFlight.delete(k);
      }
      if (started === generation && (value === undefined || value.length <= maxBytes)) {
        const e = { value: copy(value), expires: now() + ttl };
        drop(k);
        while (entries.size > 0 && (entries.size >= max || total + size(e) > maxTotal)) {
          drop(entries.keys().next().value as string);
        }
        if (total + size(e) <= maxTotal) {
          entries.set(k, e);
          total += size(e);
        }
      }
      // Joiners copy the same read: hand out copies only, so no caller sees another's changes.
      return copy(value);
    },
    async put(ns, key, value, o) {
      try {
        return await inner.put(ns, key, value, o);
      } finally {
        if (cached.has(ns)) invalidate(ns, key);
      }
    },
    async delete(ns, key) {
      try {
        return await inner.delete(ns, key);
      } finally {
        if (cached.has(ns)) invalidate(ns, key);
      }
    },
    list: (ns) => inner.list(ns),
    close: () => inner.close(),
  };
}
