import { fromBase64 } from "../../../../tee/common/bytes.js";
import {
  assertIssuedBy,
  type Clock,
  parseCertificate,
  systemClock,
} from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import { parseSnpReport, type SnpReport } from "../../../../tee/snp/report.js";
import {
  type ProcessorGeneration,
  processorGeneration,
  type VendorCertificates,
} from "../snp/vendor.js";
import { snpClaims, verifySnpReportSignature, verifySnpReportTcb } from "../snp/verify.js";
import {
  type AzEvidenceCommon,
  parseAzCommon,
  tpmClaims,
  verifyHclBinding,
  verifyInitDataPcr,
  verifyTpmQuote,
  verifyUserData,
} from "./vtpm.js";

/** Azure SNP vTPM evidence (v1/v2): vTPM quote, HCL report with its SNP report, VCEK DER. */
export interface AzSnpEvidence extends AzEvidenceCommon {
  report: SnpReport;
  vcekDer: Uint8Array;
}

/** Parses `{"version":1|2,"tpm_quote":{...},"hcl_report":"<b64url>","vcek":"<b64url DER>"}`. */
export function parseAzSnpEvidence(json: unknown): AzSnpEvidence {
  const c = parseAzCommon(json, "az-snp-vtpm");
  return {
    version: c.version,
    tpmQuote: c.tpmQuote,
    hcl: c.hcl,
    report: parseSnpReport(c.hcl.hwReport),
    vcekDer: fromBase64(c.o.vcek, "az-snp-vtpm vcek"),
  };
}

/** Inputs of {@link verifyAzSnpEvidence}. */
export interface AzSnpVerifyOptions {
  vendor: ReadonlyMap<ProcessorGeneration, VendorCertificates>;
  /** Required: upstream refuses az-snp-vtpm evidence without report data. */
  expectedReportData: Uint8Array;
  expectedInitDataHash?: Uint8Array;
  clock?: Clock;
}

/** Upstream's az-snp-vtpm claims: SNP claims as strings (bytes in standard base64), no chip_id. */
export function azSnpClaims(report: SnpReport): Record<string, string> {
  const c = snpClaims(report);
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");
  return {
    policy_abi_major: String(c.policy_abi_major),
    policy_abi_minor: String(c.policy_abi_minor),
    policy_smt_allowed: String(c.policy_smt_allowed),
    policy_migrate_ma: String(c.policy_migrate_ma),
    policy_debug_allowed: String(c.policy_debug_allowed),
    policy_single_socket: String(c.policy_single_socket),
    reported_tcb_bootloader: String(c.reported_tcb_bootloader),
    reported_tcb_tee: String(c.reported_tcb_tee),
    reported_tcb_snp: String(c.reported_tcb_snp),
    reported_tcb_microcode: String(c.reported_tcb_microcode),
    platform_tsme_enabled: String(c.platform_tsme_enabled),
    platform_smt_enabled: String(c.platform_smt_enabled),
    measurement: b64(report.measurement),
    report_data: b64(report.reportData),
    init_data: b64(report.hostData),
  };
}

/**
 * Verifies Azure SNP vTPM evidence in upstream's order: TPM quote signature by the HCL AK,
 * nonce, PCR digest, HCL var-data hash in the SNP REPORT_DATA, v2 user-data, VCEK chain to the
 * pinned ARK, SNP signature and TCB, VMPL 0, then PCR8 for init-data.
 */
export function verifyAzSnpEvidence(
  ev: AzSnpEvidence,
  opts: AzSnpVerifyOptions,
): Record<string, unknown> {
  const now = (opts.clock ?? systemClock)();
  verifyTpmQuote(ev.tpmQuote, ev.hcl, opts.expectedReportData);
  verifyHclBinding(ev.hcl, ev.report.reportData, "SNP");
  if (ev.version >= 2) verifyUserData(ev.hcl, opts.expectedReportData);
  const gen = processorGeneration(ev.report);
  const vendor = opts.vendor.get(gen);
  if (!vendor)
    throw new EvidenceError("ERR_CERT_MISSING", `no AMD certificates configured for ${gen}`);
  const vcek = parseCertificate(ev.vcekDer, "az-snp-vtpm VCEK");
  assertIssuedBy(vendor.ask, vendor.ark, now, "ASK");
  assertIssuedBy(vcek, vendor.ask, now, "VCEK");
  verifySnpReportTcb(ev.report, vcek, gen);
  verifySnpReportSignature(ev.report, vcek);
  if (ev.report.vmpl !== 0) {
    throw new EvidenceError(
      "ERR_VMPL",
      `SNP report VMPL is ${ev.report.vmpl}; the HCL report must be VMPL 0`,
    );
  }
  if (opts.expectedInitDataHash) verifyInitDataPcr(ev.tpmQuote, opts.expectedInitDataHash);
  return { ...azSnpClaims(ev.report), ...tpmClaims(ev.tpmQuote) };
}
