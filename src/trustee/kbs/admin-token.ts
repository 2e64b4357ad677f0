/**
 * Mints admin JWTs like upstream's docker-compose setup does (header `{"alg":"EdDSA","typ":"JWT"}`,
 * claims `iss`, `sub`, `aud`, `role`, `iat`, `exp`), from an Ed25519, EC or RSA private key.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { SignJWT } from "../../crypto/jose.js";
import { KbsServerError } from "./errors.js";

/** What to put in the token. */
export interface AdminTokenOptions {
  role?: string;
  issuer?: string;
  subject?: string;
  audience?: string | string[];
  /** Lifetime in seconds (default one hour). */
  ttlSeconds?: number;
  now?: Date;
}

function algFor(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case "ed25519":
      return "EdDSA";
    case "rsa":
      return "RS256";
    case "ec": {
      const c = key.asymmetricKeyDetails?.namedCurve;
      if (c === "prime256v1") return "ES256";
      if (c === "secp384r1") return "ES384";
      break;
    }
  }
  throw new KbsServerError("ERR_KBS_CONFIG", "admin key must be Ed25519, EC P-256/P-384 or RSA");
}

/** Reads a PEM private key (the error never echoes the file content). */
export function parsePrivateKeyPem(pem: string | Uint8Array): KeyObject {
  try {
    return createPrivateKey(Buffer.from(pem));
  } catch (err) {
    throw new KbsServerError("ERR_KBS_CONFIG", "not a PEM private key", { cause: err });
  }
}

/** Signs an admin token with `key`. */
export async function mintAdminToken(key: KeyObject, o: AdminTokenOptions = {}): Promise<string> {
  const now = Math.floor((o.now ?? new Date()).getTime() / 1000);
  const jwt = new SignJWT({ role: o.role ?? "admin" })
    .setProtectedHeader({ alg: algFor(key), typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + (o.ttlSeconds ?? 3600))
    .setSubject(o.subject ?? "admin");
  if (o.issuer !== undefined) jwt.setIssuer(o.issuer);
  if (o.audience !== undefined) jwt.setAudience(o.audience);
  return jwt.sign(key);
}

/** A new Ed25519 admin key pair as PEM (private PKCS#8, public SPKI). */
export function generateAdminKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}
