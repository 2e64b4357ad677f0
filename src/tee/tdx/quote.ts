import { ByteReader, type Field, slice } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";

/**
 * Intel DCAP ECDSA quotes: SGX quote v3, TDX quote v4 and v5. Layouts from "Intel TDX DCAP
 * Quoting Library API" Appendix A (quote format v4/v5) and "Intel SGX ECDSA Quote Library
 * API" §A.4 (v3).
 */

/** Quote header, 48 bytes (A.3.1). */
export const QUOTE_HEADER = {
  VERSION: { offset: 0, length: 2 },
  ATT_KEY_TYPE: { offset: 2, length: 2 },
  TEE_TYPE: { offset: 4, length: 4 },
  RESERVED: { offset: 8, length: 4 }, // QE SVN and PCE SVN in v3
  VENDOR_ID: { offset: 12, length: 16 },
  USER_DATA: { offset: 28, length: 20 },
} as const satisfies Record<string, Field>;
export const QUOTE_HEADER_SIZE = 48;

/** Body sizes: SGX report body (A.4.4), TD report body 1.0 (A.3.2) and 1.5 (A.3.3). */
export const SGX_REPORT_BODY_SIZE = 384;
export const TD_REPORT_BODY_10_SIZE = 584;
export const TD_REPORT_BODY_15_SIZE = 648;

/** att_key_type 2 = ECDSA-256-with-P-256 curve (the only one DCAP uses). */
export const ATT_KEY_TYPE_ECDSA_P256 = 2;
export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
/** Certification data types (A.3.9): 5 = PCK certificate chain (PEM), 6 = QE report data. */
export const CERT_DATA_TYPE_PCK_CHAIN = 5;
export const CERT_DATA_TYPE_QE_REPORT = 6;
/** Upper bound on a quote we accept (real quotes are ~5 KiB; the PCK chain dominates). */
export const QUOTE_MAX_SIZE = 64 * 1024;

/** Quote v5 body types (A.3.2 "Quote Body Descriptor"): 2 = TDX 1.0, 3 = TDX 1.5. */
export type QuoteBodyType = "sgx" | "tdx10" | "tdx15";

/** A parsed DCAP quote; byte fields are views into `raw`. */
export interface DcapQuote {
  raw: Uint8Array;
  version: 3 | 4 | 5;
  header: Uint8Array;
  attKeyType: number;
  teeType: number;
  bodyType: QuoteBodyType;
  /** v5 only: the body descriptor's type (2/3) and size fields, as bytes. */
  v5Type: Uint8Array | null;
  v5Size: Uint8Array | null;
  body: Uint8Array;
  /** The bytes the attestation key signed: header ‖ (v5 descriptor) ‖ body. */
  signedData: Uint8Array;
  /** ECDSA P-256 signature r ‖ s (64 bytes) and attestation public key x ‖ y (64 bytes). */
  signature: Uint8Array;
  attestationKey: Uint8Array;
  /** The QE's SGX report (384 bytes), its signature by the PCK key, and QE authentication data. */
  qeReport: Uint8Array;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** The PCK certificate chain (PEM text as bytes, leaf first). */
  pckChainPem: Uint8Array;
  /** Offset of the certification data (everything after the signed bytes). */
  certDataOffset: number;
  /** Zero bytes after the signature data (Azure pads its TD quotes). */
  paddingBytes: number;
}

/** Parses an SGX v3 or TDX v4/v5 ECDSA quote. Only zero padding may follow the signature data. */
export function parseDcapQuote(bytes: Uint8Array): DcapQuote {
  if (bytes.length > QUOTE_MAX_SIZE) {
    throw new EvidenceError(
      "ERR_EVIDENCE_OVERSIZE",
      `quote is ${bytes.length} bytes, limit ${QUOTE_MAX_SIZE}`,
      {
        offset: QUOTE_MAX_SIZE,
      },
    );
  }
  const r = new ByteReader(bytes, "DCAP quote");
  const header = r.take(QUOTE_HEADER_SIZE, "header");
  const hv = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const version = hv.getUint16(0, true);
  const attKeyType = hv.getUint16(2, true);
  const teeType = hv.getUint32(4, true);
  if (attKeyType !== ATT_KEY_TYPE_ECDSA_P256) {
    throw new EvidenceError(
      "ERR_EVIDENCE_UNSUPPORTED",
      `quote att_key_type ${attKeyType} is not 2 (ECDSA-256-with-P-256)`,
      { offset: 2 },
    );
  }
  let bodyType: QuoteBodyType;
  let v5Type: Uint8Array | null = null;
  let v5Size: Uint8Array | null = null;
  let bodySize: number;
  if (version === 3 && teeType === TEE_TYPE_SGX) {
    bodyType = "sgx";
    bodySize = SGX_REPORT_BODY_SIZE;
  } else if (version === 4 && teeType === TEE_TYPE_TDX) {
    bodyType = "tdx10";
    bodySize = TD_REPORT_BODY_10_SIZE;
  } else if (version === 5 && teeType === TEE_TYPE_TDX) {
    const typeAt = r.pos;
    v5Type = r.take(2, "body type");
    v5Size = r.take(4, "body size");
    const t = (v5Type[0] ?? 0) | ((v5Type[1] ?? 0) << 8);
    const size = new DataView(v5Size.buffer, v5Size.byteOffset, 4).getUint32(0, true);
    if (t === 2) bodyType = "tdx10";
    else if (t === 3) bodyType = "tdx15";
    else
      throw new EvidenceError("ERR_EVIDENCE_UNSUPPORTED", `quote v5 body type ${t} is not 2 or 3`, {
        offset: typeAt,
      });
    bodySize = bodyType === "tdx10" ? TD_REPORT_BODY_10_SIZE : TD_REPORT_BODY_15_SIZE;
    if (size !== bodySize) {
      throw new EvidenceError(
        "ERR_EVIDENCE_MALFORMED",
        `quote v5 body size ${size} does not match type ${t}`,
        {
          offset: typeAt + 2,
        },
      );
    }
  } else {
    throw new EvidenceError(
      "ERR_EVIDENCE_VERSION",
      `unsupported quote version ${version} with tee_type 0x${teeType.toString(16)}`,
      { offset: 0 },
    );
  }
  const body = r.take(bodySize, "report body");
  const signedData = bytes.subarray(0, r.pos);
  const sigLen = r.u32("signature data length");
  const sigStart = r.pos;
  r.need(sigLen, "signature data");
  const s = new ByteReader(bytes.subarray(0, sigStart + sigLen), "quote signature data", sigStart);
  const signature = s.take(64, "quote signature");
  const attestationKey = s.take(64, "attestation key");
  if (version !== 3) {
    const at = s.pos;
    const t = s.u16("certification data type");
    if (t !== CERT_DATA_TYPE_QE_REPORT) {
      throw new EvidenceError(
        "ERR_EVIDENCE_UNSUPPORTED",
        `certification data type ${t}, expected 6 (QE report)`,
        {
          offset: at,
        },
      );
    }
    const len = s.u32("QE report certification data size");
    s.need(len, "QE report certification data");
  }
  const qeReport = s.take(SGX_REPORT_BODY_SIZE, "QE report");
  const qeReportSignature = s.take(64, "QE report signature");
  const authLen = s.u16("QE authentication data size");
  const qeAuthData = s.take(authLen, "QE authentication data");
  const at = s.pos;
  const chainType = s.u16("PCK certification data type");
  if (chainType !== CERT_DATA_TYPE_PCK_CHAIN) {
    throw new EvidenceError(
      "ERR_EVIDENCE_UNSUPPORTED",
      `PCK certification data type ${chainType}, expected 5 (PCK certificate chain)`,
      { offset: at },
    );
  }
  const chainLen = s.u32("PCK chain size");
  const pckChainPem = s.take(chainLen, "PCK certificate chain");
  if (s.pos !== sigStart + sigLen) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "quote signature data has trailing bytes", {
      offset: s.pos,
    });
  }
  // Azure pads TD quotes with zeros after the signature data (its buffer is fixed-size); upstream
  // ignores whatever follows. We accept zero padding only: unsigned non-zero bytes are refused.
  const tail = bytes.subarray(sigStart + sigLen);
  const nonZero = tail.findIndex((b) => b !== 0);
  if (nonZero >= 0) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "quote has non-zero bytes after the signature data",
      {
        offset: sigStart + sigLen + nonZero,
      },
    );
  }
  return {
    raw: bytes,
    version: version as 3 | 4 | 5,
    header,
    attKeyType,
    teeType,
    bodyType,
    v5Type,
    v5Size,
    body,
    signedData,
    signature,
    attestationKey,
    qeReport,
    qeReportSignature,
    qeAuthData,
    pckChainPem,
    certDataOffset: signedData.length,
    paddingBytes: tail.length,
  };
}

/** The header fields as upstream names them. */
export function headerField(q: DcapQuote, f: keyof typeof QUOTE_HEADER): Uint8Array {
  return slice(q.header, QUOTE_HEADER[f]);
}
