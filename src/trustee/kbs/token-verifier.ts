/**
 * Verifies attestation tokens presented for resources (kbs/src/token, `[attestation_token]`),
 * whether they come from the session cookie or an `Authorization: Bearer` header:
 * - a header `jwk` equal to one of our own signing keys (the built-in AS) is trusted;
 * - any other header `jwk` only with `insecure_header_jwk = true`;
 * - otherwise the header `kid` is looked up in the trusted JWK sets.
 * - a header `jwk` whose `x5c` chain reaches a certificate of `trusted_certs_paths`.
 * `exp` is required. JWS work is done by `jose`.
 */
import { createPublicKey, hash, type KeyObject, webcrypto } from "node:crypto";
import { constantTimeEqual } from "../../crypto/compare.js";
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from "../../crypto/jose.js";
import type { TeePublicJwk } from "../../crypto/jwe.js";
import type { x509 } from "../../crypto/x509.js";
import { parseTeePubKey } from "../../protocol/kbs/parse.js";
import { KbsServerError } from "./errors.js";
import { verifyX5cEndorsement } from "./x5c.js";

/** `[attestation_token]` settings. */
export interface TokenVerifierConfig {
  /** Public keys of our own token broker(s): tokens whose header jwk equals one are trusted. */
  ownKeys?: KeyObject[];
  trustedJwkSets?: JSONWebKeySet[];
  insecureHeaderJwk?: boolean;
  /** Certificates that endorse header JWKs through their `x5c` chain (`trusted_certs_paths`). */
  trustedCerts?: x509.X509Certificate[];
  /** Extra JSON pointers tried first to find the TEE public key in the claims. */
  extraTeekeyPaths?: string[];
}

/** A verified token. */
export interface VerifiedToken {
  claims: JWTPayload;
  teePubkey: TeePublicJwk;
}

/** Verifies tokens. */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
  /**
   * The result of an earlier verification of exactly these token bytes, if one is remembered
   * and the token has not expired (checked on every call); undefined otherwise (then
   * `verify`). Synchronous: the resource GET a passport client repeats answers without
   * waiting a turn of the event loop for it.
   */
  remembered(token: string): VerifiedToken | undefined;
  /**
   * Records a token this process's own broker has just signed as verified (its claims are
   * read back from the token, not trusted from the caller), so the resource GET that follows
   * an attestation skips the signature check. Tokens from elsewhere are always verified.
   */
  remember(token: string): void;
}

/** Verified tokens remembered at most (oldest dropped first). */
const MAX_CACHED = 4096;
/**
 * Tokens most recently served from the memo, compared (in constant time: a token is a bearer
 * secret) before the memo's SHA-256 key is computed: a passport client sends the same token
 * with every resource GET, and one comparison costs a fraction of hashing its ~1.7 KB.
 */
const RECENT = 4;
/**
 * Bytes of remembered tokens at most (their length; the claims they hold take about as
 * much): a flood of large sample tokens cannot grow the cache past this.
 */
const MAX_CACHED_BYTES = 16 * 1024 * 1024;

const DEFAULT_TEEKEY_PATHS = [
  "/tdx/attester_runtime_data/tee-pubkey",
  "/tdx/attester_user_data/tee-pubkey",
  "/customized_claims/runtime_data/tee-pubkey",
  "/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey",
  "/tee-pubkey",
];

/** The reference tokens of an RFC 6901 JSON pointer, unescaped. */
function pointerKeys(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .split("/")
    .slice(1)
    .map((raw) => raw.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** Looks up reference tokens (own members only). */
function lookup(doc: unknown, keys: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const key of keys) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = Object.hasOwn(cur, key) ? (cur as Record<string, unknown>)[key] : undefined;
  }
  return cur;
}

/** RFC 6901 JSON pointer lookup. */
export function jsonPointer(doc: unknown, pointer: string): unknown {
  return lookup(doc, pointerKeys(pointer));
}

function sameKey(a: JWK, j: JWK): boolean {
  return (
    a.kty === j.kty && a.crv === j.crv && a.x === j.x && a.y === j.y && a.n === j.n && a.e === j.e
  );
}

function fail(why: string, cause?: unknown): never {
  throw new KbsServerError("ERR_KBS_TOKEN_VERIFIER", `Token Verifier error: ${why}`, { cause });
}

/** Creates the verifier; with no trust material at all it refuses to start, as upstream. */
export function createTokenVerifier(cfg: TokenVerifierConfig): TokenVerifier {
  const own = cfg.ownKeys ?? [];
  const sets = (cfg.trustedJwkSets ?? []).map((s) => createLocalJWKSet(s));
  const trustedCerts = cfg.trustedCerts ?? [];
  if (
    own.length === 0 &&
    sets.length === 0 &&
    trustedCerts.length === 0 &&
    cfg.insecureHeaderJwk !== true
  ) {
    throw new KbsServerError(
      "ERR_KBS_CONFIG",
      "[attestation_token]: no trusted verification material (no own key, trusted_jwk_sets, trusted_certs_paths or insecure_header_jwk)",
    );
  }
  // Parsed once: every attestation and every token presented looks up these pointers.
  const paths = [...(cfg.extraTeekeyPaths ?? []), ...DEFAULT_TEEKEY_PATHS].map((p) => ({
    p,
    keys: pointerKeys(p),
  }));
  const verified = new Map<string, { exp: number; bytes: number; result: VerifiedToken }>();
  let cachedBytes = 0;
  const forget = (key: string) => {
    const e = verified.get(key);
    if (e === undefined) return;
    verified.delete(key);
    cachedBytes -= e.bytes;
  };
  // The last RECENT tokens served from the memo (their bytes), each with its memo key.
  const recent: { token: Buffer; key: string }[] = [];
  /** The remembered result under `key`, if unexpired (most recently used last); else drops it. */
  const hitOf = (key: string): VerifiedToken | undefined => {
    const hit = verified.get(key);
    if (hit === undefined) return undefined;
    verified.delete(key);
    if (hit.exp * 1000 > Date.now()) {
      verified.set(key, hit); // most recently used last
      return hit.result;
    }
    cachedBytes -= hit.bytes;
    return undefined;
  };
  const remembered = (token: string): VerifiedToken | undefined => {
    const bytes = Buffer.from(token, "utf8");
    for (const r of recent) {
      // The same bytes: the memo key is the one computed for them before. Compared in
      // constant time, so a caller cannot learn a remembered token from response times.
      if (constantTimeEqual(r.token, bytes)) return hitOf(r.key);
    }
    const key = hash("sha256", bytes, "base64");
    const result = hitOf(key);
    if (result !== undefined) {
      if (recent.length >= RECENT) recent.shift();
      recent.push({ token: bytes, key });
    }
    return result;
  };
  const ownJwks = own.map((k) => k.export({ format: "jwk" }) as JWK);
  // Our own keys as WebCrypto keys, imported once (jose would convert a KeyObject per call).
  const ownCrypto = own.map((k) =>
    webcrypto.subtle.importKey(
      "spki",
      k.export({ format: "der", type: "spki" }),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    ),
  );
  const opts = { requiredClaims: ["exp"], clockTolerance: 0 };
  /** Finds the TEE key in verified claims and remembers the result until `exp` (LRU). */
  const cache = (cacheKey: string, claims: JWTPayload, bytes: number): VerifiedToken => {
    for (const { p, keys } of paths) {
      const v = lookup(claims, keys);
      if (v !== undefined && v !== null) {
        let result: VerifiedToken;
        try {
          result = { claims, teePubkey: parseTeePubKey(v) };
        } catch (err) {
          fail(`tee-pubkey at ${p} is malformed`, err);
        }
        if (bytes > MAX_CACHED_BYTES) return result;
        forget(cacheKey);
        while (verified.size >= MAX_CACHED || cachedBytes + bytes > MAX_CACHED_BYTES) {
          forget(verified.keys().next().value as string);
        }
        verified.set(cacheKey, { exp: claims.exp as number, bytes, result });
        cachedBytes += bytes;
        return result;
      }
    }
    return fail("no tee-pubkey in the token claims");
  };

  return {
    remembered,
    async verify(token) {
      // Passport clients (CDH) present the same token for many resources: remember verified
      // tokens until they expire, keyed by their SHA-256.
      const hit = remembered(token);
      if (hit !== undefined) return hit;
      const cacheKey = hash("sha256", token, "base64");
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(token);
      } catch (err) {
        fail("token is not a JWS", err);
      }
      let payload: JWTPayload | undefined;
      try {
        const jwk = header.jwk;
        if (jwk !== undefined) {
          const mine = ownJwks.findIndex((k) => sameKey(jwk, k));
          if (mine >= 0) {
            const key = await (ownCrypto[mine] as Promise<webcrypto.CryptoKey>);
            payload = (await jwtVerify(token, key, { ...opts, algorithms: ["ES256"] })).payload;
          } else if (cfg.insecureHeaderJwk === true || trustedCerts.length > 0) {
            if (cfg.insecureHeaderJwk !== true) {
              if (!(jwk.kty === "EC" && jwk.crv === "P-256") && jwk.kty !== "RSA") {
                fail("an endorsed header jwk must be EC P-256 or RSA");
              }
              try {
                await verifyX5cEndorsement(jwk, trustedCerts);
              } catch (err) {
                fail(`token header key is not endorsed: ${(err as Error).message}`);
              }
            }
            const key = createPublicKey({ key: jwk as never, format: "jwk" });
            const alg = typeof jwk.alg === "string" ? jwk.alg : (header.alg ?? "");
            payload = (await jwtVerify(token, key, { ...opts, algorithms: [alg] })).payload;
          } else {
            fail("token header key is not trusted (not ours; insecure_header_jwk is off)");
          }
        } else {
          for (const set of sets) {
            try {
              payload = (await jwtVerify(token, set, opts)).payload;
              break;
            } catch {
              // try the next set
            }
          }
          if (payload === undefined) fail("no trusted JWK set verifies the token");
        }
      } catch (err) {
        if (err instanceof KbsServerError) throw err;
        const code = (err as { code?: string }).code;
        fail(
          code === "ERR_JWT_EXPIRED"
            ? "token expired"
            : code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
              ? "token signature is invalid"
              : "token failed verification",
          err,
        );
      }
      return cache(cacheKey, payload as JWTPayload, token.length);
    },
    remember(token) {
      // Only an optimisation: anything unexpected leaves the token to the full check.
      try {
        const payload = token.split(".")[1] ?? "";
        const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as JWTPayload;
        if (typeof claims.exp !== "number") return;
        cache(hash("sha256", token, "base64"), claims, token.length);
      } catch {
        // e.g. no usable tee-pubkey: verify() will say so when the token is presented.
      }
    },
  };
}
