/**
 * Fast path for decrypting KBS resource JWEs with node:crypto, measured 1.1 ms → ~0.15 ms per
 * response against `jose` (which goes through WebCrypto). Only the exact shape Trustee emits
 * is handled here: `{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{EC P-256/P-521}}` — ECDH,
 * Concat KDF (RFC 7518 §4.6.2, SHA-256, empty apu/apv, 256-bit key), AES-256 key unwrap
 * (RFC 3394), AES-256-GCM with the received protected header as AAD. Anything else returns
 * undefined and the caller falls back to `jose`. Cross-checked against `jose` in tests.
 */
import { createDecipheriv, createECDH, type ECDH, type KeyObject } from "node:crypto";
import { AES_KW_IV, concatKdfA256kw } from "../../../crypto/jose-sync.js";
import type { FlattenedJwe } from "../../../crypto/jwe.js";

const ALG = "ECDH-ES+A256KW";
const CURVE_NAME: Record<string, string> = { "P-256": "prime256v1", "P-521": "secp521r1" };

/** An ECDH context per TEE private key, made once (the key is held for the token's life). */
const contexts = new WeakMap<KeyObject, ECDH>();

function ecdhFor(privateKey: KeyObject, crv: string): ECDH {
  let e = contexts.get(privateKey);
  if (e === undefined) {
    const d = privateKey.export({ format: "jwk" }).d;
    if (typeof d !== "string") throw new Error("the TEE key has no private scalar");
    e = createECDH(CURVE_NAME[crv]!);
    e.setPrivateKey(Buffer.from(d, "base64url"));
    contexts.set(privateKey, e);
  }
  return e;
}
const COORD: Record<string, number> = { "P-256": 32, "P-521": 66 };

/**
 * Decrypts `jwe` when it has Trustee's EC shape; returns undefined for other shapes. Throws on
 * a tag or key-unwrap failure (tampered or foreign data).
 */
export function decryptEcJweFast(privateKey: KeyObject, jwe: FlattenedJwe): Uint8Array | undefined {
  let header: {
    alg?: unknown;
    enc?: unknown;
    epk?: { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown };
  };
  try {
    header = JSON.parse(Buffer.from(jwe.protected, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  const epk = header.epk;
  if (header.alg !== ALG || header.enc !== "A256GCM" || !epk || epk.kty !== "EC") return undefined;
  if (typeof epk.crv !== "string" || typeof epk.x !== "string" || typeof epk.y !== "string")
    return undefined;
  const len = COORD[epk.crv];
  if (
    !len ||
    privateKey.asymmetricKeyDetails?.namedCurve !==
      (epk.crv === "P-256" ? "prime256v1" : "secp521r1")
  )
    return undefined;
  if (
    Buffer.from(epk.x, "base64url").length !== len ||
    Buffer.from(epk.y, "base64url").length !== len
  ) {
    throw new Error("epk coordinates have the wrong length");
  }
  // ECDH with the raw point: importing the epk as a KeyObject cost as much as the ECDH itself.
  // computeSecret refuses a point that is not on the curve.
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(epk.x, "base64url"),
    Buffer.from(epk.y, "base64url"),
  ]);
  const z = ecdhFor(privateKey, epk.crv).computeSecret(point);
  const kek = concatKdfA256kw(z);
  const kw = createDecipheriv("id-aes256-wrap", kek, AES_KW_IV);
  const cek = Buffer.concat([kw.update(Buffer.from(jwe.encrypted_key, "base64url")), kw.final()]);
  if (cek.length !== 32) throw new Error("unwrapped CEK is not 32 bytes");
  const iv = Buffer.from(jwe.iv, "base64url");
  const tag = Buffer.from(jwe.tag, "base64url");
  if (iv.length !== 12 || tag.length !== 16)
    throw new Error("A256GCM needs a 12-byte IV and a 16-byte tag");
  const gcm = createDecipheriv("aes-256-gcm", cek, iv);
  gcm.setAAD(Buffer.from(jwe.protected, "ascii"));
  gcm.setAuthTag(tag);
  return Buffer.concat([gcm.update(Buffer.from(jwe.ciphertext, "base64url")), gcm.final()]);
}
