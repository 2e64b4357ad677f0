import { ByteReader, type Field, slice } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";

/** Size of ATTESTATION_REPORT (SEV-SNP Firmware ABI 1.55+, Table 23). */
export const SNP_REPORT_SIZE = 0x4a0;

/** The signed part of the report: bytes 0x00..0x2A0 (ABI Table 23, SIGNATURE covers 0h–29Fh). */
export const SNP_SIGNED_LENGTH = 0x2a0;

/** Field offsets of ATTESTATION_REPORT, SEV-SNP Firmware ABI specification Table 23. */
export const SNP_LAYOUT = {
  VERSION: { offset: 0x00, length: 4 },
  GUEST_SVN: { offset: 0x04, length: 4 },
  POLICY: { offset: 0x08, length: 8 },
  FAMILY_ID: { offset: 0x10, length: 16 },
  IMAGE_ID: { offset: 0x20, length: 16 },
  VMPL: { offset: 0x30, length: 4 },
  SIGNATURE_ALGO: { offset: 0x34, length: 4 },
  CURRENT_TCB: { offset: 0x38, length: 8 },
  PLATFORM_INFO: { offset: 0x40, length: 8 },
  KEY_INFO: { offset: 0x48, length: 4 }, // AUTHOR_KEY_EN bit 0, MASK_CHIP_KEY bit 1, SIGNING_KEY bits 4:2
  REPORT_DATA: { offset: 0x50, length: 64 },
  MEASUREMENT: { offset: 0x90, length: 48 },
  HOST_DATA: { offset: 0xc0, length: 32 },
  ID_KEY_DIGEST: { offset: 0xe0, length: 48 },
  AUTHOR_KEY_DIGEST: { offset: 0x110, length: 48 },
  REPORT_ID: { offset: 0x140, length: 32 },
  REPORT_ID_MA: { offset: 0x160, length: 32 },
  REPORTED_TCB: { offset: 0x180, length: 8 },
  CPUID_FAM_ID: { offset: 0x188, length: 1 }, // version >= 3
  CPUID_MOD_ID: { offset: 0x189, length: 1 }, // version >= 3
  CPUID_STEP: { offset: 0x18a, length: 1 }, // version >= 3
  CHIP_ID: { offset: 0x1a0, length: 64 },
  COMMITTED_TCB: { offset: 0x1e0, length: 8 },
  CURRENT_VERSION: { offset: 0x1e8, length: 4 }, // BUILD, MINOR, MAJOR, reserved
  COMMITTED_VERSION: { offset: 0x1ec, length: 4 }, // BUILD, MINOR, MAJOR, reserved
  LAUNCH_TCB: { offset: 0x1f0, length: 8 },
  LAUNCH_MIT_VECTOR: { offset: 0x1f8, length: 8 }, // version >= 5
  CURRENT_MIT_VECTOR: { offset: 0x200, length: 8 }, // version >= 5
  SIGNATURE_R: { offset: 0x2a0, length: 72 }, // little-endian, ABI Table 141 (ECDSA P-384 signature)
  SIGNATURE_S: { offset: 0x2e8, length: 72 },
} as const satisfies Record<string, Field>;

/** Report versions this parser understands (2 = ABI 1.51, 3 = 1.55 with CPUID, 5 = mitigation vectors). */
export const SNP_REPORT_VERSIONS = [2, 3, 4, 5] as const;

/** An SNP TCB_VERSION, decoded per processor generation (Turin adds FMC and moves fields). */
export interface SnpTcb {
  /** Turin only (ABI Table 4 TCB_VERSION for family 1Ah). */
  fmc: number | null;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  /** The raw 8 bytes, for re-serialisation. */
  raw: Uint8Array;
}

/** Firmware version triple (CURRENT_* / COMMITTED_* fields). */
export interface SnpVersion {
  major: number;
  minor: number;
  build: number;
}

/** A parsed ATTESTATION_REPORT; byte fields are views into `raw`. */
export interface SnpReport {
  raw: Uint8Array;
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  sigAlgo: number;
  currentTcb: SnpTcb;
  platInfo: bigint;
  keyInfo: number;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcb: SnpTcb;
  /** CPUID family/model/stepping, present from version 3. */
  cpuidFamId: number | null;
  cpuidModId: number | null;
  cpuidStep: number | null;
  chipId: Uint8Array;
  committedTcb: SnpTcb;
  current: SnpVersion;
  committed: SnpVersion;
  launchTcb: SnpTcb;
  launchMitVector: bigint | null;
  currentMitVector: bigint | null;
  /** Signature r and s as little-endian 72-byte values (ABI Table 141). */
  signatureR: Uint8Array;
  signatureS: Uint8Array;
}

/** True when the report comes from a family 1Ah (Turin) part, whose TCB_VERSION layout differs. */
export function isTurinFamily(cpuidFamId: number | null): boolean {
  return cpuidFamId === 0x1a;
}

/**
 * Decodes TCB_VERSION. Milan/Genoa (ABI Table 3): BOOT_LOADER[0], TEE[1], reserved[2..5],
 * SNP[6], MICROCODE[7]. Turin (family 1Ah): FMC[0], BOOT_LOADER[1], TEE[2], SNP[3],
 * reserved[4..6], MICROCODE[7].
 */
export function decodeTcb(raw: Uint8Array, turin: boolean): SnpTcb {
  const b = (i: number): number => raw[i] ?? 0;
  if (turin) {
    return { fmc: b(0), bootloader: b(1), tee: b(2), snp: b(3), microcode: b(7), raw };
  }
  return { fmc: null, bootloader: b(0), tee: b(1), snp: b(6), microcode: b(7), raw };
}

/**
 * Parses a 1184-byte SEV-SNP attestation report. Versions 2..5 parse; the verifier decides
 * which versions it accepts (upstream accepts 3..5 only).
 */
export function parseSnpReport(bytes: Uint8Array): SnpReport {
  if (bytes.length < SNP_REPORT_SIZE) {
    throw new EvidenceError(
      "ERR_EVIDENCE_TRUNCATED",
      `SNP report is ${bytes.length} bytes, expected ${SNP_REPORT_SIZE}`,
      { offset: bytes.length },
    );
  }
  if (bytes.length > SNP_REPORT_SIZE) {
    throw new EvidenceError(
      "ERR_EVIDENCE_OVERSIZE",
      `SNP report is ${bytes.length} bytes, expected ${SNP_REPORT_SIZE}`,
      { offset: SNP_REPORT_SIZE },
    );
  }
  const r = new ByteReader(bytes, "SNP report");
  const version = r.u32("VERSION");
  if (!(SNP_REPORT_VERSIONS as readonly number[]).includes(version)) {
    throw new EvidenceError("ERR_EVIDENCE_VERSION", `SNP report version ${version} is not 2..5`, {
      offset: 0,
    });
  }
  const L = SNP_LAYOUT;
  // The signature field is 512 bytes of which r and s use 144; the rest is reserved, must be
  // zero (ABI Table 141) and is not covered by the signature, so non-zero bytes are refused.
  const pad = L.SIGNATURE_S.offset + L.SIGNATURE_S.length;
  const bad = bytes.subarray(pad).findIndex((b) => b !== 0);
  if (bad >= 0) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "SNP report has non-zero bytes in the reserved, unsigned tail of the signature field",
      { offset: pad + bad },
    );
  }
  const u32 = (f: Field): number =>
    new DataView(bytes.buffer, bytes.byteOffset + f.offset, 4).getUint32(0, true);
  const u64 = (f: Field): bigint =>
    new DataView(bytes.buffer, bytes.byteOffset + f.offset, 8).getBigUint64(0, true);
  const hasCpuid = version >= 3;
  const cpuidFamId = hasCpuid ? (bytes[L.CPUID_FAM_ID.offset] ?? 0) : null;
  const turin = isTurinFamily(cpuidFamId);
  const tcb = (f: Field): SnpTcb => decodeTcb(slice(bytes, f), turin);
  const ver = (f: Field): SnpVersion => ({
    build: bytes[f.offset] ?? 0,
    minor: bytes[f.offset + 1] ?? 0,
    major: bytes[f.offset + 2] ?? 0,
  });
  return {
    raw: bytes,
    version,
    guestSvn: u32(L.GUEST_SVN),
    policy: u64(L.POLICY),
    familyId: slice(bytes, L.FAMILY_ID),
    imageId: slice(bytes, L.IMAGE_ID),
    vmpl: u32(L.VMPL),
    sigAlgo: u32(L.SIGNATURE_ALGO),
    currentTcb: tcb(L.CURRENT_TCB),
    platInfo: u64(L.PLATFORM_INFO),
    keyInfo: u32(L.KEY_INFO),
    reportData: slice(bytes, L.REPORT_DATA),
    measurement: slice(bytes, L.MEASUREMENT),
    hostData: slice(bytes, L.HOST_DATA),
    idKeyDigest: slice(bytes, L.ID_KEY_DIGEST),
    authorKeyDigest: slice(bytes, L.AUTHOR_KEY_DIGEST),
    reportId: slice(bytes, L.REPORT_ID),
    reportIdMa: slice(bytes, L.REPORT_ID_MA),
    reportedTcb: tcb(L.REPORTED_TCB),
    cpuidFamId,
    cpuidModId: hasCpuid ? (bytes[L.CPUID_MOD_ID.offset] ?? 0) : null,
    cpuidStep: hasCpuid ? (bytes[L.CPUID_STEP.offset] ?? 0) : null,
    chipId: slice(bytes, L.CHIP_ID),
    committedTcb: tcb(L.COMMITTED_TCB),
    current: ver(L.CURRENT_VERSION),
    committed: ver(L.COMMITTED_VERSION),
    launchTcb: tcb(L.LAUNCH_TCB),
    launchMitVector: version >= 5 ? u64(L.LAUNCH_MIT_VECTOR) : null,
    currentMitVector: version >= 5 ? u64(L.CURRENT_MIT_VECTOR) : null,
    signatureR: slice(bytes, L.SIGNATURE_R),
    signatureS: slice(bytes, L.SIGNATURE_S),
  };
}

/** Guest policy bits (ABI Table 9 GUEST_POLICY). */
export const SNP_POLICY_BITS = {
  SMT: 16n,
  MIGRATE_MA: 18n,
  DEBUG: 19n,
  SINGLE_SOCKET: 20n,
} as const;

/** Platform info bits (ABI Table 23 PLATFORM_INFO). */
export const SNP_PLATFORM_INFO_BITS = { SMT_EN: 0n, TSME_EN: 1n } as const;

/** True when bit `bit` of `v` is set. */
export function bit(v: bigint, b: bigint): boolean {
  return ((v >> b) & 1n) === 1n;
}
