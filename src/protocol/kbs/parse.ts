/**
 * Parsers for RCAR messages. Each takes untrusted JSON (already decoded) or bytes and returns a
 * normalized value, or throws {@link KbsProtocolError} naming the field that is wrong. Unknown
 * members are dropped as serde does, so digests are computed over what upstream would see.
 */
import type { FlattenedJwe, TeePublicJwk } from "../../crypto/jwe.js";
import { ParseLimitError } from "../limits/errors.js";
import { type JsonLimits, parseJsonLimited } from "../limits/json.js";
import { KbsProtocolError } from "./errors.js";
import {
  KBS_PROTOCOL_VERSION,
  type KbsAttestation,
  type KbsAttestationResponse,
  type KbsChallenge,
  type KbsInitData,
  type KbsRequest,
  TEES,
  type Tee,
} from "./types.js";

type Obj = Record<string, unknown>;

function fail(field: string, why: string): never {
  throw new KbsProtocolError("ERR_KBS_FIELD", `${field}: ${why}`);
}

function asObject(v: unknown, field: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(field, "must be an object");
  return v as Obj;
}

function asString(v: unknown, field: string, max = 1 << 20): string {
  if (typeof v !== "string") fail(field, "must be a string");
  if (v.length > max) fail(field, `longer than ${max} characters`);
  return v;
}

/**
 * Decodes a JSON body of at most `maxBytes` bytes under the parse limits of
 * `protocol/limits` (depth, keys, values, duplicate keys; strings up to `maxBytes`). Invalid
 * UTF-8 or JSON is ERR_KBS_JSON, an oversized body ERR_KBS_TOO_LARGE, a broken limit
 * ERR_KBS_LIMIT naming it.
 */
export function parseJsonBytes(
  bytes: Uint8Array | string,
  maxBytes = 2 * 1024 * 1024,
  limits: Partial<JsonLimits> = {},
): unknown {
  try {
    return parseJsonLimited(bytes, { maxBytes, maxStringBytes: maxBytes, ...limits });
  } catch (err) {
    throw toKbsProtocolError(err);
  }
}

/** Maps a {@link ParseLimitError} to the KBS protocol error codes (others pass through). */
export function toKbsProtocolError(err: unknown): unknown {
  if (!(err instanceof ParseLimitError)) return err;
  const code =
    err.code === "ERR_LIMIT_SIZE"
      ? "ERR_KBS_TOO_LARGE"
      : err.code === "ERR_LIMIT_SYNTAX"
        ? "ERR_KBS_JSON"
        : "ERR_KBS_LIMIT";
  // "not valid JSON (at byte 3)" → "body is not valid JSON ..."; "JSON nests ..." → "body nests ...".
  const msg =
    err.code === "ERR_LIMIT_SYNTAX" ? `body is ${err.message}` : `body ${err.message.slice(5)}`;
  return new KbsProtocolError(code, msg, { cause: err });
}

/** True when `s` is a TEE name upstream knows. */
export function isTee(s: unknown): s is Tee {
  return typeof s === "string" && (TEES as readonly string[]).includes(s);
}

/**
 * Parses a `Request`. A version other than exactly 0.4.0 is ERR_KBS_VERSION, an unknown TEE
 * ERR_KBS_TEE.
 */
export function parseKbsRequest(value: unknown): KbsRequest {
  const o = asObject(value, "request");
  const version = asString(o.version, "version", 64);
  if (version !== KBS_PROTOCOL_VERSION) {
    throw new KbsProtocolError(
      "ERR_KBS_VERSION",
      `KBS Client Protocol Version Mismatch: expect =${KBS_PROTOCOL_VERSION} while the request is ${version}`,
    );
  }
  const tee = asString(o.tee, "tee", 64);
  if (!isTee(tee)) {
    throw new KbsProtocolError("ERR_KBS_TEE", `tee: unknown TEE ${JSON.stringify(tee)}`);
  }
  return { version, tee, "extra-params": o["extra-params"] ?? "" };
}

/** Parses a `Challenge` (client side). */
export function parseKbsChallenge(value: unknown): KbsChallenge {
  const o = asObject(value, "challenge");
  return { nonce: asString(o.nonce, "nonce", 1 << 16), "extra-params": o["extra-params"] ?? "" };
}

/** Parses and normalizes a `tee-pubkey` JWK to the members kbs-types keeps. */
export function parseTeePubKey(value: unknown): TeePublicJwk {
  const o = asObject(value, "tee-pubkey");
  const kty = asString(o.kty, "tee-pubkey.kty", 8);
  const alg = asString(o.alg, "tee-pubkey.alg", 64);
  if (kty === "EC") {
    const crv = asString(o.crv, "tee-pubkey.crv", 16);
    return {
      kty,
      crv: crv as "P-256",
      alg: alg as "ECDH-ES+A256KW",
      // P-521 coordinates are 66 bytes (88 characters of base64url).
      x: asString(o.x, "tee-pubkey.x", 96),
      y: asString(o.y, "tee-pubkey.y", 96),
    };
  }
  if (kty === "RSA") {
    return {
      kty,
      alg: alg as "RSA-OAEP-256",
      // At most 8192 bits (1,366 characters); the exponent at most 6 bytes (65537 is "AQAB").
      n: asString(o.n, "tee-pubkey.n", 1366),
      e: asString(o.e, "tee-pubkey.e", 8),
    };
  }
  return fail("tee-pubkey.kty", `unsupported key type ${JSON.stringify(kty)}`);
}

/** Longest init-data body accepted in an Attestation (the AS limit, 256 KiB). */
export const MAX_INIT_DATA_CHARS = 256 * 1024;

function parseInitData(v: unknown): KbsInitData | null {
  if (v === undefined || v === null) return null;
  const o = asObject(v, "init-data");
  return {
    format: asString(o.format, "init-data.format", 32),
    body: asString(o.body, "init-data.body", MAX_INIT_DATA_CHARS),
  };
}

/** Parses an `Attestation` (protocol 0.4.0 composite evidence). */
export function parseKbsAttestation(value: unknown): KbsAttestation {
  const o = asObject(value, "attestation");
  const rd = asObject(o["runtime-data"], "runtime-data");
  const ev = asObject(o["tee-evidence"], "tee-evidence");
  if (!("primary_evidence" in ev)) fail("tee-evidence.primary_evidence", "is missing");
  const additional = ev.additional_evidence ?? "";
  return {
    "init-data": parseInitData(o["init-data"]),
    "runtime-data": {
      nonce: asString(rd.nonce, "runtime-data.nonce", 1024),
      "tee-pubkey": parseTeePubKey(rd["tee-pubkey"]),
    },
    "tee-evidence": {
      primary_evidence: ev.primary_evidence,
      additional_evidence: asString(additional, "tee-evidence.additional_evidence"),
    },
  };
}

/** Parses the /attest response body (client side). */
export function parseKbsAttestationResponse(value: unknown): KbsAttestationResponse {
  const o = asObject(value, "attestation response");
  return { token: asString(o.token, "token", 1 << 20) };
}

/** Parses a resource `Response` (flattened JWE) (client side). */
export function parseKbsResponse(value: unknown): FlattenedJwe {
  const o = asObject(value, "response");
  const out: FlattenedJwe = {
    protected: asString(o.protected, "protected"),
    encrypted_key: asString(o.encrypted_key, "encrypted_key"),
    iv: asString(o.iv, "iv"),
    ciphertext: asString(o.ciphertext, "ciphertext", 64 << 20),
    tag: asString(o.tag, "tag"),
  };
  if (o.aad !== undefined && o.aad !== null) out.aad = asString(o.aad, "aad");
  return out;
}
