import { verify as cryptoVerify, type X509Certificate } from "node:crypto";
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { leToBe, regularize, toHex } from "../../../../tee/common/bytes.js";
import {
  assertIssuedBy,
  type Clock,
  commonName,
  parseCertificate,
  publicKeyOf,
  systemClock,
} from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import type { SnpCertEntry, SnpEvidence } from "../../../../tee/snp/evidence.js";
import {
  bit,
  SNP_PLATFORM_INFO_BITS,
  SNP_POLICY_BITS,
  SNP_SIGNED_LENGTH,
  type SnpReport,
} from "../../../../tee/snp/report.js";
import { readVekTcb } from "./vek.js";
import {
  assertPinnedArk,
  type ProcessorGeneration,
  processorGeneration,
  type VendorCertificates,
} from "./vendor.js";

/** Which key signed the report (KEY_INFO.SIGNING_KEY, ABI Table 23). */
export type VekType = "VCEK" | "VLEK";

/** Where the verifier finds a VCEK when the evidence carries none (offline cache, KDS...). */
export type VcekSource = (report: SnpReport, gen: ProcessorGeneration) => Uint8Array | undefined;

/** Inputs of {@link verifySnpEvidence}. */
export interface SnpVerifyOptions {
  /** AMD chains per generation, already checked against the pinned ARKs. */
  vendor: ReadonlyMap<ProcessorGeneration, VendorCertificates>;
  /** Looks up a VCEK when `cert_chain` is absent; without it such evidence is refused. */
  vcekSource?: VcekSource;
  /** Expected REPORT_DATA (the runtime-data digest), zero-padded/truncated to 64 bytes. */
  expectedReportData?: Uint8Array;
  /** Expected HOST_DATA (the init-data digest), zero-padded/truncated to 32 bytes. */
  expectedInitDataHash?: Uint8Array;
  /** Report versions accepted; upstream accepts 3..5 (v2 lacks CPUID, so no generation). */
  minVersion?: number;
  /** Generation to assume for version-2 reports (no CPUID); default: refuse them. */
  assumeGeneration?: ProcessorGeneration;
  clock?: Clock;
}

/** Upstream's SNP claims (numbers and booleans as upstream emits, hex strings for bytes). */
export interface SnpClaims {
  policy_abi_major: number;
  policy_abi_minor: number;
  policy_smt_allowed: boolean;
  policy_migrate_ma: boolean;
  policy_debug_allowed: boolean;
  policy_single_socket: boolean;
  reported_tcb_bootloader: number;
  reported_tcb_tee: number;
  reported_tcb_snp: number;
  reported_tcb_microcode: number;
  platform_tsme_enabled: boolean;
  platform_smt_enabled: boolean;
  measurement: string;
  report_data: string;
  init_data: string;
  chip_id: string;
}

/** The claims upstream's `parse_tee_evidence` derives from a report. */
export function snpClaims(r: SnpReport): SnpClaims {
  return {
    policy_abi_major: Number((r.policy >> 8n) & 0xffn),
    policy_abi_minor: Number(r.policy & 0xffn),
    policy_smt_allowed: bit(r.policy, SNP_POLICY_BITS.SMT),
    policy_migrate_ma: bit(r.policy, SNP_POLICY_BITS.MIGRATE_MA),
    policy_debug_allowed: bit(r.policy, SNP_POLICY_BITS.DEBUG),
    policy_single_socket: bit(r.policy, SNP_POLICY_BITS.SINGLE_SOCKET),
    reported_tcb_bootloader: r.reportedTcb.bootloader,
    reported_tcb_tee: r.reportedTcb.tee,
    reported_tcb_snp: r.reportedTcb.snp,
    reported_tcb_microcode: r.reportedTcb.microcode,
    platform_tsme_enabled: bit(r.platInfo, SNP_PLATFORM_INFO_BITS.TSME_EN),
    platform_smt_enabled: bit(r.platInfo, SNP_PLATFORM_INFO_BITS.SMT_EN),
    measurement: toHex(r.measurement),
    report_data: toHex(r.reportData),
    init_data: toHex(r.hostData),
    chip_id: toHex(r.chipId),
  };
}

/**
 * Checks the report's ECDSA P-384/SHA-384 signature over bytes 0..0x2A0 with the VEK's key.
 * r and s are stored little-endian in 72-byte fields (ABI Table 141); only the low 48 bytes
 * may be non-zero.
 */
export function verifySnpReportSignature(report: SnpReport, vek: X509Certificate): void {
  const hiZero = (le: Uint8Array): boolean => le.subarray(48).every((b) => b === 0);
  if (report.sigAlgo !== 1 || !hiZero(report.signatureR) || !hiZero(report.signatureS)) {
    throw new EvidenceError(
      "ERR_SIGNATURE",
      "SNP report signature is not an ECDSA P-384 signature",
    );
  }
  const sig = new Uint8Array(96);
  sig.set(leToBe(report.signatureR, 48), 0);
  sig.set(leToBe(report.signatureS, 48), 48);
  let ok = false;
  try {
    ok = cryptoVerify(
      "sha384",
      report.raw.subarray(0, SNP_SIGNED_LENGTH),
      { key: publicKeyOf(vek), dsaEncoding: "ieee-p1363" },
      sig,
    );
  } catch (cause) {
    throw new EvidenceError(
      "ERR_SIGNATURE",
      "SNP report signature cannot be checked with the VEK key",
      {
        cause,
      },
    );
  }
  if (!ok) {
    throw new EvidenceError(
      "ERR_SIGNATURE",
      `SNP report signature does not verify with ${commonName(vek)}`,
    );
  }
}

/**
 * Checks REPORTED_TCB against the TCB the VEK was issued for (bootloader, TEE, SNP, microcode
 * and, on Turin, FMC), and the chip ID against a VCEK's hwID. Upstream compares the chip ID
 * only when the CN is exactly "VCEK" — never true for KDS certificates ("SEV-VCEK") — so we
 * compare whenever the VEK names a chip and the report does not mask it.
 */
export function verifySnpReportTcb(
  report: SnpReport,
  vek: X509Certificate,
  gen: ProcessorGeneration,
): void {
  const t = readVekTcb(vek);
  const r = report.reportedTcb;
  const pairs: [string, number, number][] = [
    ["microcode", t.microcode, r.microcode],
    ["snp", t.snp, r.snp],
    ["tee", t.tee, r.tee],
    ["bootloader", t.bootloader, r.bootloader],
  ];
  if (gen === "Turin") pairs.push(["fmc", t.fmc ?? -1, r.fmc ?? -1]);
  for (const [name, cert, rep] of pairs) {
    if (cert !== rep) {
      throw new EvidenceError(
        "ERR_TCB_MISMATCH",
        `reported TCB ${name} SPL ${rep} differs from the VEK certificate's ${cert}`,
      );
    }
  }
  const chipMasked = report.chipId.every((b) => b === 0);
  if (
    t.hwId &&
    !chipMasked &&
    !constantTimeEqual(t.hwId, report.chipId.subarray(0, t.hwId.length))
  ) {
    throw new EvidenceError("ERR_TCB_MISMATCH", "report CHIP_ID differs from the VCEK's hwID");
  }
}

function vekTypeOf(report: SnpReport): VekType {
  // KEY_INFO bits 4:2 SIGNING_KEY: 0 = VCEK, 1 = VLEK, 7 = none (ABI Table 23).
  const k = (report.keyInfo >> 2) & 7;
  if (k === 0) return "VCEK";
  if (k === 1) return "VLEK";
  throw new EvidenceError(
    "ERR_SIGNATURE",
    `SNP report KEY_INFO.SIGNING_KEY is ${k}: the report is unsigned`,
  );
}

/**
 * Resolves and checks the VEK chain: VEK → ASK (VCEK) or ASVK (VLEK) → pinned ARK, every
 * certificate valid at `now`. Certificates come from the evidence's `cert_chain` (an ARK there
 * must be the pinned one) or the VCEK source; missing ASK/ASVK/ARK come from `vendor`.
 */
export function resolveVek(
  report: SnpReport,
  certChain: SnpCertEntry[] | null,
  gen: ProcessorGeneration,
  opts: SnpVerifyOptions,
): { vek: X509Certificate; type: VekType } {
  const now = (opts.clock ?? systemClock)();
  const vendor = opts.vendor.get(gen);
  if (!vendor)
    throw new EvidenceError("ERR_CERT_MISSING", `no AMD certificates configured for ${gen}`);
  let ark = vendor.ark;
  let ask: X509Certificate | null = null;
  let vek: X509Certificate | null = null;
  let type: VekType = vekTypeOf(report);
  if (certChain) {
    for (const [i, e] of certChain.entries()) {
      if (e.certType === "ARK") {
        ark = parseCertificate(e.data, `cert_chain[${i}] ARK`);
        assertPinnedArk(ark, gen, now);
      } else if (e.certType === "ASK") {
        ask = parseCertificate(e.data, `cert_chain[${i}] ASK`);
      } else if ((e.certType === "VCEK" || e.certType === "VLEK") && !vek) {
        vek = parseCertificate(e.data, `cert_chain[${i}] ${e.certType}`);
        type = e.certType;
      }
    }
    if (!vek) throw new EvidenceError("ERR_CERT_MISSING", "cert_chain holds no VCEK or VLEK");
  } else {
    if (type === "VLEK") {
      throw new EvidenceError(
        "ERR_CERT_MISSING",
        "the report is VLEK-signed but the evidence has no cert_chain",
      );
    }
    const der = opts.vcekSource?.(report, gen);
    if (!der) {
      throw new EvidenceError(
        "ERR_CERT_MISSING",
        "the evidence has no cert_chain and no VCEK was found in the configured sources",
      );
    }
    vek = parseCertificate(der, "VCEK from cache");
  }
  if (!ask) {
    if (type === "VLEK" && !vendor.asvk) {
      throw new EvidenceError("ERR_CERT_MISSING", `no ASVK configured for ${gen}`);
    }
    ask = type === "VLEK" ? (vendor.asvk as X509Certificate) : vendor.ask;
  }
  assertIssuedBy(ask, ark, now, type === "VLEK" ? "ASVK" : "ASK");
  assertIssuedBy(vek, ask, now, type);
  return { vek, type };
}

/**
 * Verifies SNP evidence in upstream's order — version, generation, chain, signature, TCB,
 * VMPL, REPORT_DATA, HOST_DATA — and returns upstream's claims. Each failure has its own code.
 */
export function verifySnpEvidence(evidence: SnpEvidence, opts: SnpVerifyOptions): SnpClaims {
  const { report } = evidence;
  const minVersion = opts.minVersion ?? 3;
  if (report.version < minVersion || report.version > 5) {
    throw new EvidenceError(
      "ERR_EVIDENCE_VERSION",
      `SNP report version ${report.version} is outside the accepted ${minVersion}..5`,
    );
  }
  const gen = processorGeneration(report, opts.assumeGeneration);
  const { vek } = resolveVek(report, evidence.certChain, gen, opts);
  verifySnpReportSignature(report, vek);
  verifySnpReportTcb(report, vek, gen);
  if (report.vmpl !== 0) {
    throw new EvidenceError(
      "ERR_VMPL",
      `SNP report VMPL is ${report.vmpl}; only VMPL 0 reports are accepted`,
    );
  }
  if (opts.expectedReportData) {
    if (!constantTimeEqual(regularize(opts.expectedReportData, 64), report.reportData)) {
      throw new EvidenceError(
        "ERR_REPORT_DATA_MISMATCH",
        "SNP REPORT_DATA does not equal the runtime-data digest",
      );
    }
  }
  if (opts.expectedInitDataHash) {
    if (!constantTimeEqual(regularize(opts.expectedInitDataHash, 32), report.hostData)) {
      throw new EvidenceError(
        "ERR_INIT_DATA_MISMATCH",
        "SNP HOST_DATA does not equal the init-data digest",
      );
    }
  }
  return snpClaims(report);
}
