/**
 * The Hygon CSV attestation report, as csv-rs (`api::guest::types`, the crate upstream Trustee
 * uses) lays it out: a 4096-byte page holding `TeeInfo` (signed by the PEK with SM2) followed by
 * `TeeInfoSigner` (the PEK certificate and the chip serial number, not covered by that
 * signature), wrapped with a 16-byte magic and a flags word that select the version.
 *
 * Version 1 (legacy, CSV/CSV2/CSV3): user_pubkey_digest, vm_id, vm_version, report_data,
 * mnonce, measure, policy, sig_usage and sig_algo are stored XORed with the 4-byte `anonce`
 * repeated (little endian), and the signature covers the stored (XORed) bytes of the first
 * seven fields only.
 * Version 2 (extended, firmware build ≥ 2337): plain fields plus build, RTMR version and five
 * RTMRs; the signature covers everything before it.
 */
import { ByteReader, type Field, slice } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";
import { type CsvSignature, readSignature } from "./cert.js";

/** The page the report is padded to. */
export const CSV_REPORT_SIZE = 4096;
/** `ATTESTATION_EXT_MAGIC`: "ATTESTATION_EXT\0" marks an extension-aware report. */
export const ATTESTATION_EXT_MAGIC = new TextEncoder().encode("ATTESTATION_EXT\0");
/** `AttestationExtFlags::EXT`: an extended (version 2) report. */
export const ATTESTATION_EXT_FLAG = 1;
/** `AttestationExtFlags::EXT | EXT_HOST_DATA`: version 3 (host data), newer than upstream. */
export const ATTESTATION_EXT_HOST_DATA_FLAGS = 3;

/** `TeeInfo` fields common to both versions (csv-rs `TeeInfoV1`/`TeeInfoV2`). */
export const TEE_INFO = {
  USER_PUBKEY_DIGEST: { offset: 0x00, length: 32 },
  VM_ID: { offset: 0x20, length: 16 },
  VM_VERSION: { offset: 0x30, length: 16 },
  REPORT_DATA: { offset: 0x40, length: 64 },
  MNONCE: { offset: 0x80, length: 16 },
  MEASURE: { offset: 0x90, length: 32 },
  POLICY: { offset: 0xb0, length: 4 },
  SIG_USAGE: { offset: 0xb4, length: 4 },
  SIG_ALGO: { offset: 0xb8, length: 4 },
} as const satisfies Record<string, Field>;

/** Version 1 only: the firmware's anonymising nonce, the signature, the signed range. */
export const TEE_INFO_V1 = {
  ANONCE: { offset: 0xbc, length: 4 },
  SIG: { offset: 0xc0, length: 144 },
  /** The signature covers user_pubkey_digest .. policy (csv-rs `TeeInfoV1` encoder). */
  SIGNED: { offset: 0, length: 0xb4 },
  SIZE: 0x150,
} as const;

/** Version 2 only (csv-rs `TeeInfoV2`, size 0x490). */
export const TEE_INFO_V2 = {
  BUILD: { offset: 0xbc, length: 4 },
  RTMR_VERSION: { offset: 0xc0, length: 2 },
  RESERVED0: { offset: 0xc2, length: 14 },
  /** RTMR n at 0xd0 + 32·n (n = 0..4; RTMR0 equals `measure`). */
  RTMR0: { offset: 0xd0, length: 32 },
  RESERVED1: { offset: 0x170, length: 656 },
  SIG: { offset: 0x400, length: 144 },
  /** The signature covers every field before it. */
  SIGNED: { offset: 0, length: 0x400 },
  SIZE: 0x490,
} as const;

/** `TeeInfoSigner`, right after `TeeInfo`: PEK certificate, serial number, reserved, MAC. */
export const TEE_INFO_SIGNER = {
  PEK_CERT: { offset: 0, length: 2084 },
  SN: { offset: 2084, length: 64 },
  SIZE: 2084 + 64 + 32 + 32,
} as const;

/** Number of RTMRs in a version 2 report. */
export const CSV_RTMR_COUNT = 5;

/** A parsed report. Byte fields are the plain values (version 1: XOR with anonce undone). */
export interface CsvReport {
  version: 1 | 2;
  /** The bytes the PEK signed, exactly as stored. */
  signed: Uint8Array;
  signature: CsvSignature;
  /** Version 1: the anonymising nonce (0 for version 2). */
  anonce: number;
  userPubkeyDigest: Uint8Array;
  vmId: Uint8Array;
  vmVersion: Uint8Array;
  reportData: Uint8Array;
  mnonce: Uint8Array;
  measure: Uint8Array;
  policy: number;
  sigUsage: number;
  sigAlgo: number;
  /** Version 2 fields. */
  v2?: {
    build: number;
    rtmrVersion: number;
    reserved0: Uint8Array;
    rtmr: Uint8Array[];
    reserved1: Uint8Array;
  };
  /** The unsigned `TeeInfoSigner` block as carried (PEK certificate, serial number). */
  signer: { pekCert: Uint8Array; sn: Uint8Array };
}

/** The guest policy bit fields (csv-rs `GuestPolicy`), as upstream's claims name them. */
export function csvPolicyFields(policy: number): Record<string, number> {
  const bits = (lo: number, hi: number) => (policy >>> lo) & ((1 << (hi - lo + 1)) - 1);
  return {
    nodbg: bits(0, 0),
    noks: bits(1, 1),
    es: bits(2, 2),
    nosend: bits(3, 3),
    domain: bits(4, 4),
    csv: bits(5, 5),
    csv3: bits(6, 6),
    asid_reuse: bits(7, 7),
    hsk_version: bits(8, 11),
    cek_version: bits(12, 15),
    api_major: bits(16, 23),
    api_minor: bits(24, 31),
  };
}

function xorAnonce(b: Uint8Array, anonce: number): Uint8Array {
  const k = [anonce & 0xff, (anonce >>> 8) & 0xff, (anonce >>> 16) & 0xff, anonce >>> 24];
  return b.map((v, i) => v ^ (k[i % 4] as number));
}

/** Which version the wrapper's magic and flags select (csv-rs `AttestationReport::try_from`). */
export function csvReportVersion(magic: Uint8Array, flags: number): 1 | 2 {
  if (magic.length !== 16) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "attestation_report.magic must be 16 bytes");
  }
  if (magic.every((b) => b === 0)) return 1;
  if (Buffer.from(magic).equals(Buffer.from(ATTESTATION_EXT_MAGIC))) {
    if (flags === 0) return 1;
    if (flags === ATTESTATION_EXT_FLAG) return 2;
    if (flags === ATTESTATION_EXT_HOST_DATA_FLAGS) {
      throw new EvidenceError(
        "ERR_EVIDENCE_UNSUPPORTED",
        "CSV attestation report version 3 (host data, flags 3) is newer than upstream's verifier (csv-rs 0.1.0 reads versions 1 and 2)",
      );
    }
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      `attestation_report.flags ${flags} is not 0 (version 1) or 1 (version 2)`,
    );
  }
  throw new EvidenceError(
    "ERR_EVIDENCE_MALFORMED",
    'attestation_report.magic is neither zero nor "ATTESTATION_EXT"',
  );
}

/** Parses the 4096-byte report page of the given wrapper magic and flags. */
export function parseCsvReport(magic: Uint8Array, flags: number, data: Uint8Array): CsvReport {
  const version = csvReportVersion(magic, flags);
  if (data.length !== CSV_REPORT_SIZE) {
    throw new EvidenceError(
      data.length < CSV_REPORT_SIZE ? "ERR_EVIDENCE_TRUNCATED" : "ERR_EVIDENCE_OVERSIZE",
      `attestation_report.data is ${data.length} bytes, the report page is ${CSV_REPORT_SIZE}`,
    );
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const u32 = (f: Field) => dv.getUint32(f.offset, true);
  const anonce = version === 1 ? u32(TEE_INFO_V1.ANONCE) : 0;
  const plain = (f: Field) =>
    version === 1 ? xorAnonce(slice(data, f), anonce) : slice(data, f).slice();
  const sigField = version === 1 ? TEE_INFO_V1.SIG : TEE_INFO_V2.SIG;
  const signature = readSignature(
    new ByteReader(data, "attestation report", sigField.offset),
    "report signature",
  );
  const signerAt = version === 1 ? TEE_INFO_V1.SIZE : TEE_INFO_V2.SIZE;
  const signer = data.subarray(signerAt, signerAt + TEE_INFO_SIGNER.SIZE);
  const report: CsvReport = {
    version,
    signed: slice(data, version === 1 ? TEE_INFO_V1.SIGNED : TEE_INFO_V2.SIGNED),
    signature,
    anonce,
    userPubkeyDigest: plain(TEE_INFO.USER_PUBKEY_DIGEST),
    vmId: plain(TEE_INFO.VM_ID),
    vmVersion: plain(TEE_INFO.VM_VERSION),
    reportData: plain(TEE_INFO.REPORT_DATA),
    mnonce: plain(TEE_INFO.MNONCE),
    measure: plain(TEE_INFO.MEASURE),
    policy: (u32(TEE_INFO.POLICY) ^ anonce) >>> 0,
    sigUsage: (u32(TEE_INFO.SIG_USAGE) ^ anonce) >>> 0,
    sigAlgo: (u32(TEE_INFO.SIG_ALGO) ^ anonce) >>> 0,
    signer: {
      pekCert: slice(signer, TEE_INFO_SIGNER.PEK_CERT),
      sn: slice(signer, TEE_INFO_SIGNER.SN),
    },
  };
  if (version === 2) {
    const rtmr: Uint8Array[] = [];
    for (let i = 0; i < CSV_RTMR_COUNT; i++) {
      rtmr.push(
        data.slice(TEE_INFO_V2.RTMR0.offset + 32 * i, TEE_INFO_V2.RTMR0.offset + 32 * (i + 1)),
      );
    }
    report.v2 = {
      build: u32(TEE_INFO_V2.BUILD),
      rtmrVersion: dv.getUint16(TEE_INFO_V2.RTMR_VERSION.offset, true),
      reserved0: slice(data, TEE_INFO_V2.RESERVED0).slice(),
      rtmr,
      reserved1: slice(data, TEE_INFO_V2.RESERVED1).slice(),
    };
  }
  return report;
}
