/**
 * Upstream's `tpm` evidence (Trustee deps/verifier/src/tpm, guest-components' TPM attester):
 * `{"ak_public": "<std b64 DER SPKI>", "tpm_quote": {"message": "<std b64 TPMS_ATTEST>",
 * "signature": "<std b64 marshalled TPMT_SIGNATURE>", "pcrs": ["<64 hex>" × 24]}}`, plus an
 * optional `eventlog` (std b64 TCG PC Client crypto-agile log) for PCR replay.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { parseTpmQuoteMessage, type TpmQuoteInfo } from "../az-snp-vtpm/tpm-quote.js";
import { fromBase64, fromHex } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";

/** TPM_ALG_RSASSA (TPM 2.0 Part 2, Table 9): the only signature scheme upstream accepts. */
export const TPM_ALG_RSASSA = 0x0014;
/** TPM_ALG_SHA256. */
export const TPM_ALG_SHA256 = 0x000b;
/** Largest event log accepted inside evidence. */
export const TPM_EVENTLOG_MAX = 1 << 20;

/** Parsed TPM evidence. */
export interface TpmEvidence {
  /** `ak_public` as sent (the `ak_public` claim). */
  akPublicB64: string;
  akPublic: KeyObject;
  message: Uint8Array;
  info: TpmQuoteInfo;
  /** Raw RSASSA signature bytes from the TPMT_SIGNATURE. */
  signature: Uint8Array;
  pcrs: Uint8Array[];
  eventlog?: Uint8Array;
}

function bad(why: string): never {
  throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `tpm evidence: ${why}`);
}

/** Unmarshals a TPMT_SIGNATURE that must be RSASSA with SHA-256 (sigAlg, hash, TPM2B). */
export function parseTpmtSignature(b: Uint8Array): Uint8Array {
  if (b.length < 6) bad("tpm_quote.signature is shorter than a TPMT_SIGNATURE header");
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const alg = dv.getUint16(0);
  const hash = dv.getUint16(2);
  const size = dv.getUint16(4);
  if (alg !== TPM_ALG_RSASSA) {
    throw new EvidenceError(
      "ERR_EVIDENCE_UNSUPPORTED",
      `TPM signature algorithm 0x${alg.toString(16)} is not RSASSA (upstream: "expected RSA-SSA")`,
    );
  }
  if (hash !== TPM_ALG_SHA256) {
    throw new EvidenceError(
      "ERR_EVIDENCE_UNSUPPORTED",
      `TPM signature hash 0x${hash.toString(16)} is not SHA-256`,
    );
  }
  if (6 + size !== b.length) bad("tpm_quote.signature size does not match its TPM2B length");
  return b.subarray(6);
}

/** Parses upstream's TPM evidence JSON. */
export function parseTpmEvidence(json: unknown): TpmEvidence {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    bad("must be a JSON object");
  const o = json as Record<string, unknown>;
  const q = o.tpm_quote as Record<string, unknown> | undefined;
  if (typeof o.ak_public !== "string") bad("ak_public must be a base64 string");
  if (typeof q !== "object" || q === null) bad("tpm_quote must be an object");
  if (typeof q.message !== "string" || typeof q.signature !== "string")
    bad("tpm_quote.message and .signature must be base64 strings");
  if (!Array.isArray(q.pcrs) || q.pcrs.length === 0 || q.pcrs.length > 32)
    bad("tpm_quote.pcrs must list 1..32 PCRs");
  const pcrs = q.pcrs.map((p, i) => {
    // Upstream: "PCR should be 64 hex characters (32 bytes)".
    if (typeof p !== "string" || p.length !== 64)
      bad(`tpm_quote.pcrs[${i}] is not 64 hex characters`);
    return fromHex(p, `tpm_quote.pcrs[${i}]`);
  });
  let akPublic: KeyObject;
  try {
    akPublic = createPublicKey({
      key: Buffer.from(fromBase64(o.ak_public, "ak_public")),
      format: "der",
      type: "spki",
    });
  } catch (cause) {
    if (cause instanceof EvidenceError) throw cause;
    throw new EvidenceError("ERR_TPM_AK", "ak_public is not a DER SubjectPublicKeyInfo", { cause });
  }
  if (akPublic.asymmetricKeyType !== "rsa")
    throw new EvidenceError("ERR_TPM_AK", "ak_public is not an RSA key (quotes are RSASSA)");
  const message = fromBase64(q.message, "tpm_quote.message");
  let eventlog: Uint8Array | undefined;
  if (o.eventlog !== undefined && o.eventlog !== null) {
    if (typeof o.eventlog !== "string" || o.eventlog.length > (TPM_EVENTLOG_MAX * 4) / 3 + 4) {
      throw new EvidenceError(
        "ERR_EVIDENCE_OVERSIZE",
        `eventlog must be base64 of at most ${TPM_EVENTLOG_MAX} bytes`,
      );
    }
    eventlog = fromBase64(o.eventlog, "eventlog");
  }
  return {
    akPublicB64: o.ak_public,
    akPublic,
    message,
    info: parseTpmQuoteMessage(message),
    signature: parseTpmtSignature(fromBase64(q.signature, "tpm_quote.signature")),
    pcrs,
    ...(eventlog ? { eventlog } : {}),
  };
}
