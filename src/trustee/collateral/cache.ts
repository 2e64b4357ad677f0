/**
 * The collateral cache inside Trustee: every VCEK/VLEK, AMD chain, Intel TCB Info, QE Identity
 * and CRL the verifiers fetch goes through it. Entries are persisted in Trustee's store
 * (namespace `collateral_cache`), so a restart needs no network; they are fresh until the
 * expiry their contents state; concurrent requests for one URL share one fetch; requests to one
 * host are spaced (AMD's KDS allows about one request per 10 s per address). When the network
 * fails, an expired entry is served (and said so in the log) rather than failing attestation.
 * An offline bundle of all entries can be exported on a connected machine and imported into an
 * air-gapped Trustee (see `bundle.ts`).
 */
import { createHash } from "node:crypto";
import { EvidenceError } from "../../tee/common/errors.js";
import type { KeyValueStore } from "../storage/types.js";
import { collateralExpiry } from "./expiry.js";

/** Namespace of the cache in Trustee's store. */
export const COLLATERAL_NAMESPACE = "collateral_cache";
/** AMD KDS rate limit: one request per this many ms per host. */
export const AMD_KDS_MIN_INTERVAL_MS = 10_000;
/** Largest collateral document accepted (TCB Info is ~10 KiB, a CRL can reach a few hundred). */
export const COLLATERAL_MAX_BYTES = 1024 * 1024;

/** A fetched document. */
export interface CollateralResponse {
  body: Uint8Array;
  headers: Record<string, string>;
}

/** A cached document with its timing. */
export interface CollateralEntry extends CollateralResponse {
  url: string;
  fetchedAt: number;
  expiresAt: number;
}

/** The network, passed in: GET returning body and lowercase headers, or throwing. */
export type CollateralFetch = (url: string) => Promise<CollateralResponse>;

/** Options of {@link createCollateralCache}. */
export interface CollateralCacheOptions {
  store: KeyValueStore;
  /** Absent: offline (only cached or imported entries are served). */
  fetch?: CollateralFetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Minimum spacing of requests per host, in ms (default: 10 s for AMD KDS hosts, else 0). */
  minIntervalMs?: (host: string) => number;
  log?: (line: string) => void;
}

/** The cache. */
export interface CollateralCache {
  /** The document at `url`: fresh from the cache, else fetched (coalesced, rate-limited). */
  get(url: string): Promise<CollateralEntry>;
  /** A body-only getter for code that takes an `HttpGet`. */
  getBody(url: string): Promise<Uint8Array>;
  /** Every persisted entry. */
  entries(): Promise<CollateralEntry[]>;
  /** Stores an entry as given (bundle import). */
  put(entry: CollateralEntry): Promise<void>;
  /** Network requests made so far (for operators and tests). */
  readonly fetches: number;
}

/** The store key of a URL. */
export function cacheKey(url: string): string {
  return createHash("sha256").update(url).digest("hex");
}

/** AMD KDS hosts get the 10 s spacing by default; a mirror can set its own. */
export function defaultMinInterval(host: string): number {
  return /(^|\.)kdsintf\.amd\.com$/i.test(host) ? AMD_KDS_MIN_INTERVAL_MS : 0;
}

/** Serialises an entry for the store (JSON, body in base64). */
export function encodeEntry(e: CollateralEntry): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      url: e.url,
      fetchedAt: e.fetchedAt,
      expiresAt: e.expiresAt,
      headers: e.headers,
      body: Buffer.from(e.body).toString("base64"),
    }),
  );
}

/** Parses and validates a stored or imported entry; throws ERR_COLLATERAL_INVALID. */
export function decodeEntry(v: unknown, what: string): CollateralEntry {
  const o = v as Record<string, unknown>;
  const bad = (why: string): never => {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `${what}: ${why}`);
  };
  if (typeof o !== "object" || o === null) bad("not an object");
  if (typeof o.url !== "string" || !/^https?:\/\/[^\s]+$/.test(o.url) || o.url.length > 2048)
    bad("url must be an http(s) URL");
  if (!Number.isFinite(o.fetchedAt) || !Number.isFinite(o.expiresAt))
    bad("fetchedAt/expiresAt must be numbers");
  if (typeof o.body !== "string" || o.body.length > (COLLATERAL_MAX_BYTES * 4) / 3 + 4)
    bad("body must be base64 of at most 1 MiB");
  const headers: Record<string, string> = {};
  if (o.headers !== undefined) {
    if (typeof o.headers !== "object" || o.headers === null) bad("headers must be an object");
    for (const [k, val] of Object.entries(o.headers as Record<string, unknown>)) {
      if (typeof val !== "string" || k.length > 128 || val.length > 64 * 1024)
        bad(`header ${k.slice(0, 32)} is not a string`);
      headers[k.toLowerCase()] = val as string;
    }
  }
  return {
    url: o.url as string,
    fetchedAt: o.fetchedAt as number,
    expiresAt: o.expiresAt as number,
    headers,
    body: new Uint8Array(Buffer.from(o.body as string, "base64")),
  };
}

/** Creates the cache over Trustee's store. */
export function createCollateralCache(o: CollateralCacheOptions): CollateralCache {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const minInterval = o.minIntervalMs ?? defaultMinInterval;
  const memory = new Map<string, CollateralEntry>();
  const inflight = new Map<string, Promise<CollateralEntry>>();
  // Per host: when the next request may start, and the tail of the queue (requests to one host
  // are made one after another).
  const hostQueue = new Map<string, Promise<void>>();
  const nextAllowed = new Map<string, number>();
  let fetches = 0;

  const load = async (url: string): Promise<CollateralEntry | undefined> => {
    const hit = memory.get(url);
    if (hit) return hit;
    const raw = await o.store.get(COLLATERAL_NAMESPACE, cacheKey(url));
    if (raw === undefined) return undefined;
    try {
      const e = decodeEntry(JSON.parse(Buffer.from(raw).toString("utf8")), `cached ${url}`);
      if (e.url !== url) return undefined;
      memory.set(url, e);
      return e;
    } catch {
      return undefined;
    }
  };

  const save = async (e: CollateralEntry): Promise<void> => {
    memory.set(e.url, e);
    await o.store.put(COLLATERAL_NAMESPACE, cacheKey(e.url), encodeEntry(e));
  };

  const fetchSpaced = async (url: string): Promise<CollateralResponse> => {
    const f = o.fetch;
    if (!f)
      throw new EvidenceError(
        "ERR_COLLATERAL_MISSING",
        `${url} is not in the collateral cache and this Trustee is offline`,
      );
    const host = new URL(url).host;
    const prev = hostQueue.get(host) ?? Promise.resolve();
    let release: () => void = () => {};
    const mine = new Promise<void>((r) => {
      release = r;
    });
    hostQueue.set(
      host,
      prev.then(() => mine),
    );
    await prev;
    try {
      const wait = (nextAllowed.get(host) ?? 0) - now();
      if (wait > 0) await sleep(wait);
      nextAllowed.set(host, now() + minInterval(host));
      fetches++;
      const r = await f(url);
      if (r.body.length > COLLATERAL_MAX_BYTES) {
        throw new EvidenceError(
          "ERR_COLLATERAL_INVALID",
          `${url} is larger than ${COLLATERAL_MAX_BYTES} bytes`,
        );
      }
      return r;
    } finally {
      release();
    }
  };

  const refresh = async (
    url: string,
    stale: CollateralEntry | undefined,
  ): Promise<CollateralEntry> => {
    try {
      const r = await fetchSpaced(url);
      const fetchedAt = now();
      const e: CollateralEntry = {
        url,
        ...r,
        fetchedAt,
        expiresAt: collateralExpiry(r.body, fetchedAt),
      };
      await save(e);
      return e;
    } catch (err) {
      if (stale) {
        o.log?.(
          `trustee: collateral ${url} could not be refreshed (${(err as Error).message}); using the copy that expired ${new Date(stale.expiresAt).toISOString()}`,
        );
        return stale;
      }
      throw err instanceof EvidenceError
        ? err
        : new EvidenceError(
            "ERR_COLLATERAL_MISSING",
            `GET ${url} failed: ${(err as Error).message}`,
            { cause: err },
          );
    }
  };

  const cache: CollateralCache = {
    async get(url) {
      const cached = await load(url);
      if (cached && cached.expiresAt > now()) return cached;
      const pending = inflight.get(url);
      if (pending) return pending;
      const p = refresh(url, cached).finally(() => inflight.delete(url));
      inflight.set(url, p);
      return p;
    },
    async getBody(url) {
      return (await cache.get(url)).body;
    },
    async entries() {
      const out: CollateralEntry[] = [];
      for (const k of await o.store.list(COLLATERAL_NAMESPACE)) {
        const raw = await o.store.get(COLLATERAL_NAMESPACE, k);
        if (raw === undefined) continue;
        try {
          out.push(decodeEntry(JSON.parse(Buffer.from(raw).toString("utf8")), `cached ${k}`));
        } catch {
          // A corrupt record is skipped (and refetched on demand).
        }
      }
      return out.sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
    },
    async put(entry) {
      await save(entry);
    },
    get fetches() {
      return fetches;
    },
  };
  return cache;
}
