/**
 * Single use of each challenge. An Authed cookie may be presented to /attest once; a second
 * attempt is refused as a replay. The ledger is per process by default (bounded: entries
 * leave when their session expires) or kept in the shared store when replicas must agree.
 */
import type { KeyValueStore } from "../storage/types.js";

/** Records used challenges. */
export interface ReplayLedger {
  /** True the first time `id` is claimed before `exp`; false on every later claim. */
  claim(id: string, exp: number): Promise<boolean>;
  /**
   * A fresh session id (32 lowercase hex characters), for ledgers that route a claim by its id
   * (cluster workers: the worker that issued a challenge decides its claims). Absent: any id.
   */
  newSessionId?(): string;
}

/**
 * An in-process ledger swept of expired entries as it is used. Entries are claimed only by
 * attestations that passed, so it holds at most (successful handshakes per second) x (session
 * lifetime); `maxEntries` (default 1,000,000, about 100 MiB) is a last bound: past it a claim
 * fails as if replayed, and the guest starts a new handshake.
 */
export function createMemoryReplayLedger(opts: { maxEntries?: number } = {}): ReplayLedger {
  const max = opts.maxEntries ?? 1_000_000;
  const used = new Map<string, number>();
  let nextSweep = 0;
  return {
    async claim(id, exp) {
      const now = Date.now();
      if (now >= nextSweep) {
        for (const [k, e] of used) if (e <= now) used.delete(k);
        nextSweep = now + 10_000;
      }
      if (used.has(id) || used.size >= max) return false;
      used.set(id, exp);
      return true;
    },
  };
}

const NAMESPACE = "kbs_used_challenge";

/**
 * A ledger in the shared store (atomic no-overwrite put). Markers are keyed `<exp>-<id>`, so
 * expired ones are found by their names alone and swept every `sweepEveryMs` (default 60 s):
 * the namespace holds at most the markers of the last session lifetime plus a minute.
 */
export function createStoreReplayLedger(
  store: KeyValueStore,
  opts: { sweepEveryMs?: number; now?: () => number } = {},
): ReplayLedger {
  const every = opts.sweepEveryMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let nextSweep = 0;
  let sweeping = false;
  const sweep = async (t: number) => {
    for (const key of await store.list(NAMESPACE)) {
      const exp = Number(key.slice(0, key.indexOf("-")));
      // Expired, or a marker in the older layout (its session is long expired).
      if (!(exp > t)) await store.delete(NAMESPACE, key).catch(() => false);
    }
  };
  return {
    async claim(id, exp) {
      const t = now();
      if (t >= nextSweep && !sweeping) {
        nextSweep = t + every;
        sweeping = true;
        void sweep(t)
          .catch(() => {})
          .finally(() => {
            sweeping = false;
          });
      }
      return store.put(NAMESPACE, `${exp}-${id}`, new Uint8Array(0), { overwrite: false });
    },
  };
}
