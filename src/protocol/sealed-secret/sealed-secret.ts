/**
 * Sealed secrets (guest-components confidential-data-hub docs/SEALED_SECRET.md, hub/src/secret):
 * `sealed.` + compact JWS (base64url without padding) whose protected header is
 * `{"alg":"ES256","kid":"<kid>"}` and whose payload is a vault or envelope secret JSON.
 * ES256 only; signature raw r||s (RFC 7515 §A.3). All JOSE work is done by `jose`.
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import { CompactSign, compactVerify } from "jose";
import { CocoError } from "../../errors.js";

/** Codes for sealed-secret failures. */
export type SealedSecretErrorCode =
  | "ERR_SEALED_FORMAT"
  | "ERR_SEALED_HEADER"
  | "ERR_SEALED_ALG"
  | "ERR_SEALED_SIGNATURE"
  | "ERR_SEALED_KEY"
  | "ERR_SEALED_PAYLOAD"
  | "ERR_SEALED_VERSION";

/** A sealed secret that does not parse or verify. Messages never include secret values. */
export class SealedSecretError extends CocoError<SealedSecretErrorCode> {}

/** Prefix of every sealed secret. */
export const SEALED_PREFIX = "sealed.";
/** The only payload version upstream accepts. */
export const SECRET_VERSION = "0.1.0";
/** Largest sealed secret accepted (env vars and mount options are small). */
export const MAX_SEALED_LENGTH = 1 << 20;

/** Free-form JSON maps carried by both payload kinds. */
export type JsonMap = Record<string, unknown>;

/** A vault secret: the plaintext lives in a KMS/KBS under `name`. */
export interface VaultSecret {
  version: string;
  type: "vault";
  name: string;
  provider: string;
  provider_settings: JsonMap;
  annotations: JsonMap;
}

/** An envelope secret: data encrypted with a DEK that a KMS unwraps. */
export interface EnvelopeSecret {
  version: string;
  type: "envelope";
  key_id: string;
  encrypted_key: string;
  encrypted_data: string;
  wrap_type: "A256GCM" | "A256CTR";
  iv: string;
  provider: string;
  provider_settings: JsonMap;
  annotations: JsonMap;
}

/** A secret payload. */
export type SecretPayload = VaultSecret | EnvelopeSecret;

/** A parsed (not yet verified) sealed secret. */
export interface ParsedSealedSecret {
  header: { alg: string; kid: string };
  payload: SecretPayload;
  /** The compact JWS without the `sealed.` prefix. */
  jws: string;
}

function fail(code: SealedSecretErrorCode, msg: string): never {
  throw new SealedSecretError(code, msg);
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function b64urlJson(part: string, what: string): unknown {
  if (!B64URL.test(part)) fail("ERR_SEALED_FORMAT", `${what} is not base64url without padding`);
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    return fail("ERR_SEALED_FORMAT", `${what} is not JSON`);
  }
}

function isMap(v: unknown): v is JsonMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates payload JSON (upstream struct rules: maps required, version checked). */
export function parseSecretPayload(v: unknown): SecretPayload {
  if (!isMap(v)) fail("ERR_SEALED_PAYLOAD", "payload must be a JSON object");
  const str = (k: string): string => {
    const x = v[k];
    if (typeof x !== "string") fail("ERR_SEALED_PAYLOAD", `payload.${k} must be a string`);
    return x;
  };
  const map = (k: string): JsonMap => {
    const x = v[k];
    if (!isMap(x)) fail("ERR_SEALED_PAYLOAD", `payload.${k} must be an object`);
    return x;
  };
  const version = str("version");
  if (version !== SECRET_VERSION)
    fail("ERR_SEALED_VERSION", `payload.version must be "${SECRET_VERSION}"`);
  if (v.type === "vault") {
    return {
      version,
      type: "vault",
      name: str("name"),
      provider: str("provider"),
      provider_settings: map("provider_settings"),
      annotations: map("annotations"),
    };
  }
  if (v.type === "envelope") {
    const wrap = str("wrap_type");
    if (wrap !== "A256GCM" && wrap !== "A256CTR")
      fail("ERR_SEALED_PAYLOAD", "payload.wrap_type must be A256GCM or A256CTR");
    return {
      version,
      type: "envelope",
      key_id: str("key_id"),
      encrypted_key: str("encrypted_key"),
      encrypted_data: str("encrypted_data"),
      wrap_type: wrap,
      iv: str("iv"),
      provider: str("provider"),
      provider_settings: map("provider_settings"),
      annotations: map("annotations"),
    };
  }
  return fail("ERR_SEALED_PAYLOAD", "payload.type must be vault or envelope");
}

/** Parses `sealed.<h>.<p>.<s>`; upstream strips repeated `sealed.` prefixes, so do we. */
export function parseSealedSecret(text: string): ParsedSealedSecret {
  if (text.length > MAX_SEALED_LENGTH)
    fail("ERR_SEALED_FORMAT", `sealed secret over ${MAX_SEALED_LENGTH} characters`);
  if (!text.startsWith(SEALED_PREFIX))
    fail("ERR_SEALED_FORMAT", `a sealed secret starts with "${SEALED_PREFIX}"`);
  let jws = text;
  while (jws.startsWith(SEALED_PREFIX)) jws = jws.slice(SEALED_PREFIX.length);
  const parts = jws.split(".");
  if (parts.length !== 3)
    fail("ERR_SEALED_FORMAT", "a sealed secret has three JWS parts after the prefix");
  const [h, p, s] = parts as [string, string, string];
  if (!B64URL.test(s)) fail("ERR_SEALED_FORMAT", "signature is not base64url without padding");
  const header = b64urlJson(h, "protected header");
  if (!isMap(header)) fail("ERR_SEALED_HEADER", "protected header must be an object");
  if (typeof header.kid !== "string" || header.kid === "")
    fail("ERR_SEALED_HEADER", "protected header needs kid");
  if (typeof header.alg !== "string") fail("ERR_SEALED_HEADER", "protected header needs alg");
  return {
    header: { alg: header.alg, kid: header.kid },
    payload: parseSecretPayload(b64urlJson(p, "payload")),
    jws,
  };
}

/**
 * Parses without verifying (`SKIP_SEALED_SECRET_VERIFICATION=true`): exactly four
 * `.`-separated parts, payload from the third.
 */
export function parseSealedSecretUnverified(text: string): SecretPayload {
  const parts = text.split(".");
  if (parts.length !== 4 || parts[0] !== "sealed")
    fail("ERR_SEALED_FORMAT", "a sealed secret has four parts: sealed.<h>.<p>.<s>");
  return parseSecretPayload(b64urlJson(parts[2] ?? "", "payload"));
}

/** Imports a P-256 JWK (public or private; the public part is used) for ES256. */
export function importVerificationJwk(jwk: unknown): KeyObject {
  if (!isMap(jwk) || jwk.kty !== "EC" || jwk.crv !== "P-256")
    fail("ERR_SEALED_KEY", "verification key must be an EC P-256 JWK");
  try {
    const { d: _d, ...pub } = jwk as JsonMap;
    return createPublicKey({ key: pub as JsonWebKey, format: "jwk" });
  } catch {
    return fail("ERR_SEALED_KEY", "verification JWK does not import");
  }
}

/** Verifies the signature of a parsed secret with `key` (ES256 only) and returns its payload. */
export async function verifySealedSecret(
  parsed: ParsedSealedSecret,
  key: KeyObject,
): Promise<SecretPayload> {
  if (parsed.header.alg !== "ES256")
    fail(
      "ERR_SEALED_ALG",
      `unsupported alg ${JSON.stringify(parsed.header.alg.slice(0, 16))}; only ES256`,
    );
  try {
    await compactVerify(parsed.jws, key, { algorithms: ["ES256"] });
  } catch {
    fail(
      "ERR_SEALED_SIGNATURE",
      `sealed secret signature does not verify with key ${JSON.stringify(parsed.header.kid.slice(0, 200))}`,
    );
  }
  return parsed.payload;
}

/**
 * Seals a payload with a P-256 private JWK, as upstream's `secret seal`: header
 * `{"alg":"ES256","kid":…}`, payload JSON in upstream's field order.
 */
export async function sealSecret(
  payload: SecretPayload,
  privateJwk: unknown,
  kid: string,
): Promise<string> {
  if (!isMap(privateJwk) || typeof privateJwk.d !== "string")
    fail("ERR_SEALED_KEY", "signing key must be a private P-256 JWK");
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateJwk as JsonWebKey, format: "jwk" });
  } catch {
    return fail("ERR_SEALED_KEY", "signing JWK does not import");
  }
  const body = Buffer.from(JSON.stringify(orderedPayload(payload)));
  const jws = await new CompactSign(body).setProtectedHeader({ alg: "ES256", kid }).sign(key);
  return `${SEALED_PREFIX}${jws}`;
}

/** The payload with members in upstream's serialization order. */
export function orderedPayload(p: SecretPayload): SecretPayload {
  if (p.type === "vault") {
    return {
      version: p.version,
      type: "vault",
      name: p.name,
      provider: p.provider,
      provider_settings: p.provider_settings,
      annotations: p.annotations,
    };
  }
  return {
    version: p.version,
    type: "envelope",
    key_id: p.key_id,
    encrypted_key: p.encrypted_key,
    encrypted_data: p.encrypted_data,
    wrap_type: p.wrap_type,
    iv: p.iv,
    provider: p.provider,
    provider_settings: p.provider_settings,
    annotations: p.annotations,
  };
}
