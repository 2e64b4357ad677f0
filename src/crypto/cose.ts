/**
 * COSE_Sign1 (RFC 9052 §4.2) parsing and signature verification over node:crypto, with CBOR
 * from {@link decodeCbor}. No maintained COSE library for Node fits (the candidates pull a
 * WebCrypto polyfill, pkijs, an old jose and a native CBOR addon); the signed bytes are one
 * fixed four-element array (§4.4), so this file is the whole of it.
 */
import { type KeyObject, sign, verify } from "node:crypto";
import { type CborValue, decodeCbor, encodeCbor, isTagged } from "./cbor.js";
import { CryptoError } from "./errors.js";

/** CBOR tag of a COSE_Sign1 message (RFC 9052 §2). */
export const COSE_SIGN1_TAG = 18;

/** COSE algorithm identifiers we verify (IANA COSE Algorithms registry). */
export const COSE_ALGS = {
  ES256: -7,
  ES384: -35,
  ES512: -36,
  EdDSA: -8,
} as const;

const HASH_OF: Record<number, { hash: string | null; sigLen: number | null }> = {
  [COSE_ALGS.ES256]: { hash: "sha256", sigLen: 64 },
  [COSE_ALGS.ES384]: { hash: "sha384", sigLen: 96 },
  [COSE_ALGS.ES512]: { hash: "sha512", sigLen: 132 },
  [COSE_ALGS.EdDSA]: { hash: null, sigLen: null },
};

/** A parsed COSE_Sign1 message. */
export interface CoseSign1 {
  /** The serialized protected header, exactly as signed. */
  protectedBytes: Uint8Array;
  /** `alg` (label 1) from the protected header. */
  alg: number;
  payload: Uint8Array;
  signature: Uint8Array;
}

function fail(what: string, why: string): never {
  throw new CryptoError("ERR_CRYPTO_COSE", `${what}: ${why}`);
}

/**
 * Parses a COSE_Sign1 message (tagged 18 or untagged). The payload must be attached and `alg`
 * must be in the protected header (RFC 9052 §3.1 lets it be unprotected; CCA and every
 * verifier we mirror put it in the protected bucket, and an unprotected alg is unsigned).
 */
export function parseCoseSign1(bytes: Uint8Array, what: string): CoseSign1 {
  let v: CborValue = decodeCbor(bytes, what, { tags: [COSE_SIGN1_TAG] });
  if (isTagged(v)) {
    if (v.tag !== COSE_SIGN1_TAG) fail(what, `CBOR tag ${v.tag} is not COSE_Sign1 (18)`);
    v = v.value;
  }
  if (!Array.isArray(v) || v.length !== 4) fail(what, "COSE_Sign1 must be an array of 4");
  const [prot, unprot, payload, signature] = v;
  if (!(prot instanceof Uint8Array)) fail(what, "protected header must be a byte string");
  if (!(unprot instanceof Map)) fail(what, "unprotected header must be a map");
  if (!(payload instanceof Uint8Array)) fail(what, "payload must be an attached byte string");
  if (!(signature instanceof Uint8Array)) fail(what, "signature must be a byte string");
  const header = prot.length === 0 ? new Map() : decodeCbor(prot, `${what} protected header`);
  if (!(header instanceof Map)) fail(what, "protected header must encode a map");
  const alg = header.get(1);
  if (typeof alg !== "number") fail(what, "protected header has no integer alg (label 1)");
  if (unprot.has(1)) fail(what, "alg must not also appear in the unprotected header");
  return { protectedBytes: prot, alg, payload, signature };
}

/** The Sig_structure bytes a COSE_Sign1 signature covers (RFC 9052 §4.4). */
export function coseSign1ToBeSigned(
  protectedBytes: Uint8Array,
  payload: Uint8Array,
  externalAad: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return encodeCbor(["Signature1", protectedBytes, externalAad, payload]);
}

/**
 * Verifies a COSE_Sign1 signature with `key`. Returns false on a wrong signature; throws
 * `ERR_CRYPTO_COSE` for an algorithm we do not verify or one that does not fit the key.
 */
export function verifyCoseSign1(msg: CoseSign1, key: KeyObject, what: string): boolean {
  const spec = HASH_OF[msg.alg];
  if (spec === undefined) fail(what, `COSE algorithm ${msg.alg} is not supported`);
  const kt = key.asymmetricKeyType;
  if (spec.hash === null ? kt !== "ed25519" : kt !== "ec") {
    fail(what, `COSE algorithm ${msg.alg} does not fit a ${kt} key`);
  }
  if (spec.sigLen !== null && msg.signature.length !== spec.sigLen) return false;
  const tbs = coseSign1ToBeSigned(msg.protectedBytes, msg.payload);
  try {
    return verify(spec.hash, tbs, { key, dsaEncoding: "ieee-p1363" }, msg.signature);
  } catch {
    // OpenSSL refuses a curve that does not match the hash size only for odd keys; a refusal
    // is a failed verification, not a crash.
    return false;
  }
}

/** Signs a payload as COSE_Sign1 (tagged); used by tests and by tools that build tokens. */
export function signCoseSign1(payload: Uint8Array, alg: number, key: KeyObject): Uint8Array {
  const spec = HASH_OF[alg];
  if (spec === undefined) fail("COSE_Sign1", `COSE algorithm ${alg} is not supported`);
  const prot = encodeCbor(new Map([[1, alg]]));
  const sig = sign(spec.hash, coseSign1ToBeSigned(prot, payload), {
    key,
    dsaEncoding: "ieee-p1363",
  });
  const body = encodeCbor([prot, new Map(), payload, new Uint8Array(sig)]);
  const out = new Uint8Array(body.length + 1);
  out[0] = 0xd2; // tag 18
  out.set(body, 1);
  return out;
}
