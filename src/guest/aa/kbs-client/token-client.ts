/**
 * The token (passport) KBS client CDH uses: the token and TEE key come from a TokenProvider
 * (AA `GetToken("kbs")` over ttrpc); resource GETs carry `Authorization: Bearer`. Upstream
 * builds a new client per CDH request, so every GetResource costs a full RCAR in AA. With
 * `cache: true` we keep the token until it expires or Trustee answers 401 (then fetch one
 * new token and retry, at most 3 GETs in all, as upstream).
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { kbsPathOf, type ResourceUri } from "../../../protocol/resource-uri/index.js";
import { AaError } from "../errors.js";
import { createHttp } from "./http.js";
import { decryptResourceBody, GET_RESOURCE_MAX_ATTEMPTS, kbsHttpError } from "./rcar.js";
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

/** Creates the token client. */
export function createTokenKbsClient(opts: TokenKbsClientOptions): TokenKbsClient {
  const http = createHttp(opts.url, {
    ...(opts.certs ? { certs: opts.certs } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
  const cache = opts.cache ?? true;
  const nowSec = opts.nowSec ?? (() => Math.floor(Date.now() / 1000));
  const skew = opts.expirySkewSec ?? 5;
  let held: Held | undefined;
  let inflight: Promise<Held> | undefined;
  let fetched = 0;

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

  async function current(force: boolean): Promise<Held> {
    if (!force && cache && held && isTokenValid(held.token, nowSec(), skew)) return held;
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
    async getResource(uri) {
      const path = kbsPathOf(uri);
      let h = await current(false);
      for (let i = 0; i < GET_RESOURCE_MAX_ATTEMPTS; i++) {
        const res = await http.request("GET", path, { bearer: h.token.content });
        if (res.status === 200) return decryptResourceBody(res.body, h.key);
        if (res.status !== 401 || i === GET_RESOURCE_MAX_ATTEMPTS - 1)
          throw kbsHttpError(`GET ${path}`, res);
        if (cache && held === h) held = undefined;
        h = await current(true);
      }
      throw new AaError("ERR_KBS_CLIENT_UNAUTHORIZED", `GET ${path}: request unauthorized`);
    },
    close() {
      http.close();
    },
  };
}
