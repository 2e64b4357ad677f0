/**
 * Admin authorization, as upstream's `[admin]` section: `InsecureAllowAll`, `DenyAll`, or
 * `AuthenticatedAuthorization` with bearer JWTs (EdDSA, ES256/384, RS256/PS256, ...) from
 * configured identity providers (PEM public keys or JWKS), a required `exp` (60 s leeway),
 * optional `iss`/`aud` checks, a string `role` claim and per-role endpoint regexes matched
 * against the request URI including the query string. JWT checks are done by `jose`.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import {
  createLocalJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from "../../crypto/jose.js";
import { KbsServerError } from "./errors.js";

/** One trusted token issuer. */
export interface IdentityProvider {
  issuer?: string;
  audience?: string;
  /** PEM public keys (EC, RSA or Ed25519). */
  publicKeys?: KeyObject[];
  /** A JWKS (keys selected by header `kid`; each key must carry `alg`). */
  jwks?: JSONWebKeySet;
}

/** One ACL entry: a role and the endpoints it may call. */
export interface AclEntry {
  role: string;
  /** Must start with `^/kbs` and end with `$`. */
  allowedEndpoints: string;
}

/** The `[admin]` modes. */
export type AdminConfig =
  | { mode: "InsecureAllowAll" }
  | { mode: "DenyAll" }
  | {
      mode: "AuthenticatedAuthorization";
      identityProviders: IdentityProvider[];
      acls: AclEntry[];
      /** Longest lifetime (`exp` minus `iat`, or minus now without `iat`), default one day. */
      maxTokenLifetimeSecs?: number;
    };

/** Default longest admin token lifetime: one day. */
export const DEFAULT_ADMIN_TOKEN_LIFETIME_SECS = 86_400;
/** Clock skew tolerated on `exp` and `iat` (upstream's 60 s leeway). */
const LEEWAY_SECS = 60;

/** Who passed the admin check: claims of the admin token that name it (never the token). */
export interface AdminIdentity {
  sub?: string;
  iss?: string;
  role?: string;
}

/** Decides admin requests. */
export interface AdminAuthorizer {
  readonly mode: AdminConfig["mode"];
  /**
   * Resolves when allowed, with the token's identity claims (none for InsecureAllowAll);
   * throws a reason string (as Error) when not.
   */
  check(authorization: string | undefined, uri: string): Promise<AdminIdentity | undefined>;
}

const ALGS_BY_KEY: Readonly<Record<string, string[]>> = {
  ed25519: ["EdDSA", "Ed25519"],
  "ec:prime256v1": ["ES256"],
  "ec:secp384r1": ["ES384"],
  "ec:secp521r1": ["ES512"],
  rsa: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
};

function algorithmsFor(key: KeyObject): string[] {
  const t = key.asymmetricKeyType ?? "";
  return ALGS_BY_KEY[t === "ec" ? `ec:${key.asymmetricKeyDetails?.namedCurve}` : t] ?? [];
}

/** Reads a PEM public key (EC, RSA or Ed25519); ERR_KBS_CONFIG if it is none of them. */
export function parsePublicKeyPem(pem: string | Uint8Array, where: string): KeyObject {
  try {
    const k = createPublicKey(Buffer.from(pem));
    if (algorithmsFor(k).length === 0) throw new Error("unsupported key type");
    return k;
  } catch (err) {
    throw new KbsServerError("ERR_KBS_CONFIG", `${where}: not an EC, RSA or Ed25519 public key`, {
      cause: err,
    });
  }
}

class Denied extends Error {}

/** Creates the authorizer; a bad ACL regex is ERR_KBS_CONFIG at startup. */
export function createAdminAuthorizer(cfg: AdminConfig): AdminAuthorizer {
  if (cfg.mode === "InsecureAllowAll") {
    return { mode: cfg.mode, check: async () => undefined };
  }
  if (cfg.mode === "DenyAll") {
    return {
      mode: cfg.mode,
      async check() {
        throw new Denied("admin API is disabled (DenyAll)");
      },
    };
  }
  if (cfg.identityProviders.length === 0) {
    throw new KbsServerError("ERR_KBS_CONFIG", "[admin] needs at least one identity provider");
  }
  const acls = cfg.acls.map((a) => {
    if (!a.allowedEndpoints.startsWith("^/kbs") || !a.allowedEndpoints.endsWith("$")) {
      throw new KbsServerError(
        "ERR_KBS_CONFIG",
        `[admin] ACL for role ${a.role}: allowed_endpoints must start with ^/kbs and end with $`,
      );
    }
    try {
      return { role: a.role, re: new RegExp(a.allowedEndpoints) };
    } catch (err) {
      throw new KbsServerError("ERR_KBS_CONFIG", `[admin] ACL for role ${a.role}: invalid regex`, {
        cause: err,
      });
    }
  });
  const maxLifetime = cfg.maxTokenLifetimeSecs ?? DEFAULT_ADMIN_TOKEN_LIFETIME_SECS;
  const providers = cfg.identityProviders.map((p) => ({
    ...p,
    jwkSet: p.jwks !== undefined ? createLocalJWKSet(p.jwks) : undefined,
  }));

  const verifyWith = async (token: string): Promise<JWTPayload> => {
    let last = "no identity provider accepted the token";
    for (const p of providers) {
      const opts = {
        requiredClaims: ["exp"],
        clockTolerance: LEEWAY_SECS,
        ...(p.issuer !== undefined ? { issuer: p.issuer } : {}),
        ...(p.audience !== undefined ? { audience: p.audience } : {}),
      };
      for (const key of p.publicKeys ?? []) {
        try {
          return (await jwtVerify(token, key, { ...opts, algorithms: algorithmsFor(key) })).payload;
        } catch (err) {
          last = describe(err);
        }
      }
      if (p.jwkSet !== undefined) {
        try {
          return (await jwtVerify(token, p.jwkSet, opts)).payload;
        } catch (err) {
          last = describe(err);
        }
      }
    }
    throw new Denied(last);
  };

  return {
    mode: cfg.mode,
    async check(authorization, uri) {
      const m = /^Bearer\s+([A-Za-z0-9_.-]+)\s*$/i.exec(authorization ?? "");
      if (m === null) throw new Denied("no Bearer token in the Authorization header");
      const claims = await verifyWith(m[1] as string);
      // jose checked `exp` (required); bound the lifetime and refuse tokens from the future,
      // so a leaked long-lived token or one minted with a skewed clock is not honoured.
      const now = Math.floor(Date.now() / 1000);
      const iat = claims.iat;
      if (iat !== undefined && (typeof iat !== "number" || iat > now + LEEWAY_SECS)) {
        throw new Denied("token is issued in the future (iat)");
      }
      const exp = claims.exp as number;
      const lifetime = exp - (typeof iat === "number" ? iat : now);
      if (lifetime > maxLifetime) {
        throw new Denied(
          `token lifetime ${lifetime} s exceeds the maximum ${maxLifetime} s (admin.max_token_lifetime_secs)`,
        );
      }
      const role = claims.role;
      if (typeof role !== "string") throw new Denied("token has no string role claim");
      const allowed = acls.some((a) => a.role === role && a.re.test(uri));
      if (!allowed) throw new Denied(`role ${JSON.stringify(role)} may not call this endpoint`);
      const name = (v: unknown) => (typeof v === "string" ? v.slice(0, 128) : undefined);
      const id: AdminIdentity = { role: role.slice(0, 128) };
      const sub = name(claims.sub);
      const iss = name(claims.iss);
      if (sub !== undefined) id.sub = sub;
      if (iss !== undefined) id.iss = iss;
      return id;
    },
  };
}

function describe(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "token expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return `token claim check failed (${(err as { claim?: string }).claim ?? "claim"})`;
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "token signature does not verify with any trusted key";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "token algorithm does not match the trusted key";
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "no key in the trusted JWKS matches the token kid";
    default:
      return "token is malformed or not verifiable";
  }
}

/** True for errors thrown as admin denials (their message is the reason). */
export function isAdminDenial(err: unknown): err is Error {
  return err instanceof Denied;
}
