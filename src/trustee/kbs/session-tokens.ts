/**
 * Where an attested session's token waits when it is too large for the cookie (hardware
 * claims, event logs, a large agent policy in init-data). Bounded in bytes: anyone can run a
 * sample-TEE handshake, so without a bound each one could leave a large token behind.
 *
 * - {@link createMemorySessionTokens}: one process (the default). Nothing is written to disk.
 * - {@link createSharedSessionTokens}: replicas or workers that share a session key and a
 *   store (`[stateless_session] secret_file`, `worker_count`). Records are keyed
 *   `<exp>-<id>`, so expired ones are found by listing names alone and are swept every minute
 *   (by every replica); each process also keeps its own writes within its byte budget.
 *
 * When the budget is full the oldest token is dropped: its guest gets a 401 on its next
 * resource request and attests again (upstream's clients do), so under a flood of handshakes
 * honest guests pay one extra handshake instead of the server paying unbounded memory or disk.
 */
import type { KeyValueStore } from "../storage/types.js";

/** Upstream's session namespace. */
export const SESSION_NAMESPACE = "kbs_protocol_session";

/** Holds tokens of attested sessions. */
export interface SessionTokenStore {
  /** Keeps `token` for session `id` until `exp` (ms since the epoch). */
  put(id: string, exp: number, token: string): Promise<void>;
  /** The token, or undefined when expired or dropped. */
  get(id: string, exp: number): Promise<string | undefined>;
  /** Bytes this process holds (memory) or wrote and has not yet removed (shared). */
  readonly bytes: number;
  /** Resolves when no background sweep is running. */
  idle(): Promise<void>;
}

/** Options of both kinds. */
export interface SessionTokenOptions {
  /** Byte budget (default 64 MiB). */
  maxBytes?: number;
  now?: () => number;
}

/** Default byte budget for held tokens. */
export const DEFAULT_SESSION_TOKEN_BYTES = 64 * 1024 * 1024;

interface Held {
  exp: number;
  bytes: number;
}

/** Evicts from the front of an insertion-ordered map: expired first, then oldest over budget. */
function makeRoom<T extends Held>(
  held: Map<string, T>,
  state: { bytes: number },
  need: number,
  max: number,
  now: number,
  drop: (key: string) => void,
): void {
  for (const [key, h] of held) {
    if (h.exp > now && state.bytes + need <= max) break;
    held.delete(key);
    state.bytes -= h.bytes;
    drop(key);
  }
}

/** Tokens in this process's memory, at most `maxBytes` of them. */
export function createMemorySessionTokens(opts: SessionTokenOptions = {}): SessionTokenStore {
  const max = opts.maxBytes ?? DEFAULT_SESSION_TOKEN_BYTES;
  const now = opts.now ?? Date.now;
  const held = new Map<string, Held & { token: string }>();
  const state = { bytes: 0 };
  return {
    idle: async () => {},
    get bytes() {
      return state.bytes;
    },
    async put(id, exp, token) {
      const bytes = token.length;
      if (bytes > max) return;
      const old = held.get(id);
      if (old !== undefined) {
        held.delete(id);
        state.bytes -= old.bytes;
      }
      makeRoom(held, state, bytes, max, now(), () => {});
      held.set(id, { exp, bytes, token });
      state.bytes += bytes;
    },
    async get(id, exp) {
      const h = held.get(id);
      if (h === undefined || h.exp !== exp || h.exp <= now()) return undefined;
      return h.token;
    },
  };
}

/** Options of the shared kind. */
export interface SharedSessionTokenOptions extends SessionTokenOptions {
  /** How often expired records are swept from the store (default 60 s, as upstream). */
  sweepEveryMs?: number;
}

/** Tokens in the shared store, keyed `<exp>-<id>`; expired ones swept by name. */
export function createSharedSessionTokens(
  store: KeyValueStore,
  opts: SharedSessionTokenOptions = {},
): SessionTokenStore {
  const max = opts.maxBytes ?? DEFAULT_SESSION_TOKEN_BYTES;
  const now = opts.now ?? Date.now;
  const every = opts.sweepEveryMs ?? 60_000;
  const written = new Map<string, Held>();
  const state = { bytes: 0 };
  const keyOf = (id: string, exp: number) => `${exp}-${id}`;
  let nextSweep = 0;
  let sweeping: Promise<void> | undefined;
  const sweep = async (t: number) => {
    for (const key of await store.list(SESSION_NAMESPACE)) {
      const exp = Number(key.slice(0, key.indexOf("-")));
      // Expired, or a record in an older layout: neither can be used any more.
      if (!(exp > t)) await store.delete(SESSION_NAMESPACE, key).catch(() => false);
    }
  };
  const maybeSweep = () => {
    const t = now();
    if (t < nextSweep || sweeping !== undefined) return;
    nextSweep = t + every;
    sweeping = sweep(t)
      .catch(() => {})
      .finally(() => {
        sweeping = undefined;
      });
  };
  return {
    idle: async () => {
      await sweeping;
    },
    get bytes() {
      return state.bytes;
    },
    async put(id, exp, token) {
      maybeSweep();
      const value = new TextEncoder().encode(token);
      if (value.length > max) return;
      const dropped: string[] = [];
      makeRoom(written, state, value.length, max, now(), (k) => dropped.push(k));
      await Promise.all(dropped.map((k) => store.delete(SESSION_NAMESPACE, k).catch(() => false)));
      const key = keyOf(id, exp);
      await store.put(SESSION_NAMESPACE, key, value);
      written.set(key, { exp, bytes: value.length });
      state.bytes += value.length;
    },
    async get(id, exp) {
      maybeSweep();
      if (exp <= now()) return undefined;
      const raw = await store.get(SESSION_NAMESPACE, keyOf(id, exp));
      return raw === undefined ? undefined : Buffer.from(raw).toString("utf8");
    },
  };
}
