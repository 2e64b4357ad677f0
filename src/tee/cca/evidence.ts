/**
 * Upstream's CCA evidence JSON, `{"token": [CBOR bytes as numbers]}` (Trustee
 * deps/verifier/src/cca `CcaEvidence`), and the COSE_Key form of a realm attestation key.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { decodeCbor } from "../../crypto/cbor.js";
import { CryptoError } from "../../crypto/errors.js";
import { EvidenceError } from "../common/errors.js";
import { CCA_TOKEN_MAX } from "./token.js";

/** The token bytes from upstream's evidence JSON (a JSON array of byte values). */
export function parseCcaEvidence(evidence: unknown): Uint8Array {
  const t = (evidence as { token?: unknown } | null)?.token;
  if (typeof evidence !== "object" || evidence === null || !Array.isArray(t)) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", 'CCA evidence must be {"token": [bytes]}');
  }
  if (t.length > CCA_TOKEN_MAX) {
    throw new EvidenceError(
      "ERR_EVIDENCE_OVERSIZE",
      `CCA token is ${t.length} bytes, limit ${CCA_TOKEN_MAX}`,
    );
  }
  const out = new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) {
    const b = t[i];
    if (typeof b !== "number" || !Number.isInteger(b) || b < 0 || b > 255) {
      throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `CCA evidence token[${i}] is not a byte`);
    }
    out[i] = b;
  }
  return out;
}

const CURVES: Record<number, { crv: string; size: number }> = {
  1: { crv: "P-256", size: 32 },
  2: { crv: "P-384", size: 48 },
  3: { crv: "P-521", size: 66 },
};

const realmKeys = new Map<string, KeyObject>();
const REALM_KEYS_MAX = 256;

/** The realm attestation key: a raw uncompressed P-384 point, or a COSE_Key (EC2). Cached. */
export function realmKeyOf(raw: Uint8Array, isCoseKey: boolean): KeyObject {
  // A realm presents the same RAK on every attestation; importing a key costs a P-384 point check.
  const id = `${isCoseKey ? "c" : "r"}${Buffer.from(raw).toString("base64")}`;
  const hit = realmKeys.get(id);
  if (hit) return hit;
  const key = importRealmKey(raw, isCoseKey);
  if (realmKeys.size >= REALM_KEYS_MAX) realmKeys.clear();
  realmKeys.set(id, key);
  return key;
}

function importRealmKey(raw: Uint8Array, isCoseKey: boolean): KeyObject {
  let crv = "P-384";
  let x: Uint8Array;
  let y: Uint8Array;
  if (!isCoseKey) {
    if (raw.length !== 97 || raw[0] !== 0x04) {
      throw new EvidenceError(
        "ERR_EVIDENCE_MALFORMED",
        "realm public-key is not an uncompressed P-384 point",
      );
    }
    x = raw.subarray(1, 49);
    y = raw.subarray(49);
  } else {
    let m: unknown;
    try {
      m = decodeCbor(raw, "realm public-key COSE_Key");
    } catch (e) {
      if (e instanceof CryptoError)
        throw new EvidenceError("ERR_EVIDENCE_MALFORMED", e.message, { cause: e });
      throw e;
    }
    if (!(m instanceof Map) || m.get(1) !== 2) {
      throw new EvidenceError(
        "ERR_EVIDENCE_MALFORMED",
        "realm public-key COSE_Key is not an EC2 key",
      );
    }
    const c = CURVES[m.get(-1) as number];
    const kx = m.get(-2);
    const ky = m.get(-3);
    if (
      !c ||
      !(kx instanceof Uint8Array) ||
      !(ky instanceof Uint8Array) ||
      kx.length !== c.size ||
      ky.length !== c.size
    ) {
      throw new EvidenceError(
        "ERR_EVIDENCE_MALFORMED",
        "realm public-key COSE_Key has no usable curve/x/y",
      );
    }
    crv = c.crv;
    x = kx;
    y = ky;
  }
  try {
    return createPublicKey({
      key: {
        kty: "EC",
        crv,
        x: Buffer.from(x).toString("base64url"),
        y: Buffer.from(y).toString("base64url"),
      },
      format: "jwk",
    });
  } catch (cause) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "realm public-key is not a point on its curve",
      { cause },
    );
  }
}
