/**
 * The token (passport) KBS client CDH uses: the token and TEE key come from a TokenProvider
 * (AA `GetToken("kbs")` over ttrpc); resource GETs carry `Authorization: Bearer`. Upstream
 * builds a new client per CDH request, so every GetResource costs a full RCAR in AA. With
 * `cache: true` we keep the token until it expires or Trustee answers 401 (then fetch one
 * new token and retry, at most 3 GETs in all, as upstream). With the cache on, the plaintext
 * of each resource is also kept (`resource-cache.ts`) and the next GET of it with the same
 * token sends `If-None-Match`: a Trustee that authorizes the call and finds the resource
 * unchanged answers 304 without a JWE. Anything but 200 or 304 forgets the kept copy; a 304
 * to a GET that sent no tag is an error. A Trustee that ignores the header answers 200.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { kbsPathOf, type ResourceUri } from "../../../protocol/resource-uri/index.js";
import { AaError } from "../errors.js";
import { createHttp } from "./http.js";
import { decryptResourceBody, GET_RESOURCE_MAX_ATTEMPTS, kbsHttpError } from "./rcar.js";
import { opaqueTag, ResourceCache } from "./resource-cache.js";
import { createResourceHttp } from "./resource-http.js";
import { isTokenValid, parseToken, type Token } from "./token.js";

/** A token plus the TEE private key it is bound to. */
export interface TokenAndKey {
  token: string;
  /** PEM private key (`tee_keypair`). */
  teeKeyPem: string;
}

/** Where tokens come from. */
export type TokenProvider = () => Promise<TokenAndKey>;

/** Options for {@link createTokenKbsClient}. */
export interface TokenKbsClientOptions {
  url: string;
  certs?: string[];
  tokenProvider: TokenProvider;
  /** Keep the token across calls (default true); false reproduces upstream (one per call). */
  cache?: boolean;
  timeoutMs?: number;
  nowSec?: () => number;
  /** Re-fetch this many seconds before `exp` (default 5). */
  expirySkewSec?: number;
}

/** A resource getter backed by tokens. */
export interface TokenKbsClient {
  getResource(uri: ResourceUri): Promise<Uint8Array>;
  /** Tokens fetched from the provider so far. */
  readonly tokensFetched: number;
  /** GETs Trustee answered 304 (the kept plaintext was returned). */
  readonly revalidated: number;
  /** The HTTP client the next resource GET goes through (see FAST_CLIENT_AFTER). */
  readonly transport: "node:http" | "undici";
  close(): void;
}

interface Held {
  token: Token;
  key: KeyObject;
}

/** Parses the AA `GetToken("kbs")` answer `{"token","tee_keypair"}`. */
export function parseKbsTokenAnswer(bytes: Uint8Array): TokenAndKey {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new AaError("ERR_KBS_CLIENT_TOKEN", "AA token answer is not JSON");
  }
  const o = v as Record<string, unknown>;
  if (typeof o?.token !== "string" || typeof o.tee_keypair !== "string") {
    throw new AaError("ERR_KBS_CLIENT_TOKEN", "AA token answer needs string token and tee_keypair");
  }
  return { token: o.token, teeKeyPem: o.tee_keypair };
}

/** Resource GETs after which the token client loads and moves to undici (`resource-http.ts`). */
export const FAST_CLIENT_AFTER = 8;

/** Creates the token client. */
export function createTokenKbsClient(opts: TokenKbsClientOptions): TokenKbsClient {
  const httpOpts = {
    ...(opts.certs ? { certs: opts.certs } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  };
  // Resource GETs start on node:http, which the process has loaded anyway; from the
  // FAST_CLIENT_AFTER-th GET on, undici is loaded in the background and used once ready
  // (less CPU per request, but ~80 ms of CPU to load: a pod that fetches a secret or two at
  // start never pays it; a CDH serving repeated GetResource calls does, once).
  const http = createHttp(opts.url, httpOpts);
  const fast = createResourceHttp(opts.url, httpOpts);
  let gets = 0;
  const get = (path: string, bearer: string, ifNoneMatch: string | undefined) => {
    if (++gets === FAST_CLIENT_AFTER) fast.preload();
    if (fast.ready()) return fast.get(path, bearer, ifNoneMatch);
    return http.request("GET", path, {
      bearer,
      ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
    });
  };
  const cache = opts.cache ?? true;
  const nowSec = opts.nowSec ?? (() => Math.floor(Date.now() / 1000));
  const skew = opts.expirySkewSec ?? 5;
  let held: Held | undefined;
  let inflight: Promise<Held> | undefined;
  let fetched = 0;
  let revalidated = 0;
  const resources = new ResourceCache();

  async function fetchNew(): Promise<Held> {
    const t = await opts.tokenProvider();
    fetched++;
    let key: KeyObject;
    try {
      key = createPrivateKey(t.teeKeyPem);
    } catch {
      throw new AaError("ERR_KBS_CLIENT_TOKEN", "tee_keypair is not a PEM private key");
    }
    return { token: parseToken(t.token), key };
  }

  /** The held token, when tokens are cached and it is still valid. */
  function validHeld(): Held | undefined {
    return cache && held && isTokenValid(held.token, nowSec(), skew) ? held : undefined;
  }

  async function current(force: boolean): Promise<Held> {
    const valid = force ? undefined : validHeld();
    if (valid) return valid;
    // One token request at a time: concurrent callers share it.
    if (!inflight) {
      inflight = fetchNew().finally(() => {
        inflight = undefined;
      });
    }
    const h = await inflight;
    if (cache) held = h;
    return h;
  }

  return {
    get tokensFetched() {
      return fetched;
    },
    get revalidated() {
      return revalidated;
    },
    get transport() {
      return fast.ready() ? "undici" : "node:http";
    },
    async getResource(uri) {
      const path = kbsPathOf(uri);
      // The held token, when still valid, without a turn of the event loop.
      let h = validHeld() ?? (await current(false));
      for (let i = 0; i < GET_RESOURCE_MAX_ATTEMPTS; i++) {
        const kept = cache ? resources.lookup(path, h) : undefined;
        const res = await get(path, h.token.content, kept?.etag);
        if (res.status === 304) {
          if (kept === undefined) {
            resources.drop(path);
            throw new AaError(
              "ERR_KBS_CLIENT_RESPONSE",
              `GET ${path}: KBS answered 304 Not Modified to a request that sent no If-None-Match`,
            );
          }
          if (res.etag !== undefined && opaqueTag(res.etag) !== opaqueTag(kept.etag)) {
            resources.drop(path);
            throw new AaError(
              "ERR_KBS_CLIENT_RESPONSE",
              `GET ${path}: KBS answered 304 Not Modified with an ETag other than the one sent`,
            );
          }
          revalidated++;
          return Buffer.from(kept.value);
        }
        resources.drop(path);
        if (res.status === 200) {
          const value = await decryptResourceBody(res.body, h.key);
          if (cache) resources.store(path, h, res.etag, value);
          return value;
        }
        if (res.status !== 401 || i === GET_RESOURCE_MAX_ATTEMPTS - 1)
          throw kbsHttpError(`GET ${path}`, res);
        if (cache && held === h) held = undefined;
        h = await current(true);
      }
      throw new AaError("ERR_KBS_CLIENT_UNAUTHORIZED", `GET ${path}: request unauthorized`);
    },
    close() {
      resources.clear();
      http.close();
      fast.close();
    },
  };
}
