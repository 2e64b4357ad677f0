/**
 * Stateless RCAR sessions. Instead of a session table (upstream keeps one in memory or Redis),
 * the session itself travels in the `kbs-session-id` cookie, sealed with AES-256-GCM under a
 * key the replicas share. Any replica can open it, so a handshake begun on one replica can
 * finish on another behind a plain load balancer. The cookie is opaque to clients, as
 * upstream's is.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import type { HashAlgorithm } from "../../crypto/digest.js";
import { pooledRandomBytes } from "../../crypto/random-pool.js";
import type { Tee } from "../../protocol/kbs/types.js";

/** A session after /auth: the challenge it must be answered with. */
export interface AuthedSession {
  state: "authed";
  id: string;
  tee: Tee;
  nonce: string;
  alg: HashAlgorithm;
  /** Expiry, ms since the epoch. */
  exp: number;
}

/** A session after a successful /attest: the token it earned. */
export interface AttestedSession {
  state: "attested";
  id: string;
  token: string;
  exp: number;
}

/**
 * An attested session whose token is too large for a cookie (hardware claims, event logs): the
 * token waits in the shared store under the session id instead.
 */
export interface AttestedRefSession {
  state: "attested-ref";
  id: string;
  exp: number;
}

/** Any session state. */
export type Session = AuthedSession | AttestedSession | AttestedRefSession;

/** Why a cookie did not open. */
export type SessionOpenFailure = "malformed" | "unknown" | "expired";

/** Seals and opens session cookies. */
export interface SessionSealer {
  seal(session: Session): string;
  open(cookie: string, now?: number): Session | SessionOpenFailure;
}

const PREFIX = "v1.";
const AAD = Buffer.from("coco-kbs-session-v1");
// Attested sessions carry the EAR token; hardware claims can make it several KiB.
const MAX_COOKIE = 60 * 1024;

/** Creates a sealer over a 32-byte key (shared by all replicas). */
export function createSessionSealer(key: Uint8Array): SessionSealer {
  if (key.length !== 32) throw new RangeError("session key must be 32 bytes");
  const k = Buffer.from(key);
  return {
    seal(session) {
      const iv = pooledRandomBytes(12);
      const c = createCipheriv("aes-256-gcm", k, iv);
      c.setAAD(AAD);
      const body = Buffer.concat([c.update(JSON.stringify(session), "utf8"), c.final()]);
      return PREFIX + Buffer.concat([iv, body, c.getAuthTag()]).toString("base64url");
    },
    open(cookie, now = Date.now()) {
      if (!cookie.startsWith(PREFIX) || cookie.length > MAX_COOKIE) return "malformed";
      const raw = Buffer.from(cookie.slice(PREFIX.length), "base64url");
      if (raw.length < 12 + 16 + 1) return "malformed";
      let plain: Buffer;
      try {
        const d = createDecipheriv("aes-256-gcm", k, raw.subarray(0, 12));
        d.setAAD(AAD);
        d.setAuthTag(raw.subarray(raw.length - 16));
        plain = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
      } catch {
        // Sealed by another key (or tampered with): as upstream, an unknown session.
        return "unknown";
      }
      let s: Session;
      try {
        s = JSON.parse(plain.toString("utf8")) as Session;
      } catch {
        return "malformed";
      }
      if (typeof s.exp !== "number" || s.exp <= now) return "expired";
      return s;
    },
  };
}

/** A fresh session id: 32 lowercase hex characters, like upstream's UUID simple form. */
export function newSessionId(): string {
  return pooledRandomBytes(16).toString("hex");
}
