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
}

/** An in-process ledger swept of expired entries as it is used. */
export function createMemoryReplayLedger(): ReplayLedger {
  const used = new Map<string, number>();
  let nextSweep = 0;
  return {
    async claim(id, exp) {
      const now = Date.now();
      if (now >= nextSweep) {
        for (const [k, e] of used) if (e <= now) used.delete(k);
        nextSweep = now + 10_000;
      }
      if (used.has(id)) return false;
      used.set(id, exp);
      return true;
    },
  };
}

const NAMESPACE = "kbs_used_challenge";

/** A ledger in the shared store (atomic no-overwrite put); sweeps expired markers hourly. */
export function createStoreReplayLedger(store: KeyValueStore): ReplayLedger {
  let nextSweep = Date.now() + 3600_000;
  const sweep = async (now: number) => {
    for (const key of await store.list(NAMESPACE)) {
      const v = await store.get(NAMESPACE, key);
      if (v !== undefined && Number(Buffer.from(v).toString()) <= now) {
        await store.delete(NAMESPACE, key);
      }
    }
  };
  return {
    async claim(id, exp) {
      const now = Date.now();
      if (now >= nextSweep) {
        nextSweep = now + 3600_000;
        void sweep(now).catch(() => {});
      }
      return store.put(NAMESPACE, id, new TextEncoder().encode(String(exp)), { overwrite: false });
    },
  };
}
