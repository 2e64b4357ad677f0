/**
 * DSSE envelopes (in-toto attestations: SLSA provenance and other statements) verified against
 * trusted public keys. The pre-authentication encoding and signature check come from
 * `@sigstore/core` (sigstore-js); this is its one wrapper.
 */
import type { KeyObject } from "node:crypto";
import sigstore from "@sigstore/core";
import { CryptoError } from "./errors.js";

/** A DSSE envelope as JSON (`payload` and `sig` are standard base64). */
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: { keyid?: string; sig: string }[];
}

/** The verified content of an envelope. */
export interface VerifiedDsse {
  payloadType: string;
  payload: Uint8Array;
  /** Index in `keys` of the key that verified. */
  keyIndex: number;
}

const MAX_PAYLOAD = 4 * 1024 * 1024;
const B64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function hashFor(key: KeyObject): string | undefined {
  switch (key.asymmetricKeyType) {
    case "ed25519":
      return undefined;
    case "ec":
      return key.asymmetricKeyDetails?.namedCurve === "secp384r1" ? "sha384" : "sha256";
    default:
      return "sha256";
  }
}

/** Verifies `envelope` with any of `keys`; a malformed or unsigned envelope is ERR_CRYPTO_DSSE. */
export function verifyDsseEnvelope(envelope: unknown, keys: readonly KeyObject[]): VerifiedDsse {
  const bad = (why: string): never => {
    throw new CryptoError("ERR_CRYPTO_DSSE", `DSSE envelope: ${why}`);
  };
  if (typeof envelope !== "object" || envelope === null || Array.isArray(envelope))
    bad("not a JSON object");
  const e = envelope as Record<string, unknown>;
  if (typeof e.payloadType !== "string" || e.payloadType.length > 256)
    bad("payloadType must be a string");
  if (
    typeof e.payload !== "string" ||
    !B64.test(e.payload) ||
    e.payload.length > (MAX_PAYLOAD * 4) / 3 + 4
  ) {
    bad("payload must be base64 of at most 4 MiB");
  }
  if (!Array.isArray(e.signatures) || e.signatures.length === 0 || e.signatures.length > 16) {
    bad("needs 1 to 16 signatures");
  }
  const payload = Buffer.from(e.payload as string, "base64");
  const pae = sigstore.dsse.preAuthEncoding(e.payloadType as string, payload);
  for (const s of e.signatures as unknown[]) {
    const sig = (s as { sig?: unknown } | null)?.sig;
    if (typeof sig !== "string" || !B64.test(sig) || sig.length > 2048)
      bad("a signature is not base64");
    const sigBytes = Buffer.from(sig as string, "base64");
    for (const [i, key] of keys.entries()) {
      let ok = false;
      try {
        ok = sigstore.crypto.verify(pae, key, sigBytes, hashFor(key));
      } catch {
        ok = false;
      }
      if (ok)
        return {
          payloadType: e.payloadType as string,
          payload: new Uint8Array(payload),
          keyIndex: i,
        };
    }
  }
  return bad("no signature verifies with a trusted key");
}
