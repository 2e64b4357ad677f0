import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { constantTimeEqual } from "../../../../crypto/compare.js";
import {
  type HclReport,
  parseHclReport,
  parseHclVarData,
} from "../../../../tee/az-snp-vtpm/hcl.js";
import {
  parseTpmQuoteMessage,
  TPM_ALG_SHA256,
  type TpmQuoteInfo,
} from "../../../../tee/az-snp-vtpm/tpm-quote.js";
import { fromBase64, fromHex } from "../../../../tee/common/bytes.js";
import { EvidenceError } from "../../../../tee/common/errors.js";

/** The PCR that Azure's attester extends with the init-data digest. */
export const INITDATA_PCR = 8;

/** A vTPM quote as the Azure attesters send it (`tpm_quote`: hex fields). */
export interface TpmQuote {
  signature: Uint8Array;
  message: Uint8Array;
  pcrs: Uint8Array[];
  info: TpmQuoteInfo;
}

/** Common fields of Azure vTPM evidence v1/v2. */
export interface AzEvidenceCommon {
  version: 1 | 2;
  tpmQuote: TpmQuote;
  hcl: HclReport;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `${what} must be a JSON object`);
  }
  return v as Record<string, unknown>;
}

/** Parses `tpm_quote` (`{signature, message, pcrs: [hex × 24]}`). */
export function parseTpmQuote(v: unknown): TpmQuote {
  const o = obj(v, "tpm_quote");
  if (
    typeof o.signature !== "string" ||
    typeof o.message !== "string" ||
    !Array.isArray(o.pcrs) ||
    o.pcrs.length > 32
  ) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "tpm_quote needs hex signature, message and up to 32 pcrs",
    );
  }
  const pcrs = o.pcrs.map((p, i) => {
    if (typeof p !== "string")
      throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `tpm_quote.pcrs[${i}] is not hex`);
    const b = fromHex(p, `tpm_quote.pcrs[${i}]`);
    if (b.length !== 32)
      throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `tpm_quote.pcrs[${i}] is not 32 bytes`);
    return b;
  });
  const message = fromHex(o.message, "tpm_quote.message");
  return {
    signature: fromHex(o.signature, "tpm_quote.signature"),
    message,
    pcrs,
    info: parseTpmQuoteMessage(message),
  };
}

/** The hardware report each Azure vTPM TEE's HCL report must hold, and its name in errors. */
const HCL_HOLDS = {
  "az-snp-vtpm": { reportType: "snp", name: "an SNP report" },
  "az-tdx-vtpm": { reportType: "tdx", name: "a TD report" },
} as const;

/**
 * Parses the fields shared by az-snp-vtpm and az-tdx-vtpm evidence (versions 1 and 2) and
 * checks that the HCL report holds that TEE's hardware report.
 */
export function parseAzCommon(
  json: unknown,
  tee: keyof typeof HCL_HOLDS,
): AzEvidenceCommon & { o: Record<string, unknown> } {
  const what = `${tee} evidence`;
  const o = obj(json, what);
  if (o.version !== 1 && o.version !== 2) {
    throw new EvidenceError(
      "ERR_EVIDENCE_VERSION",
      `${what} version ${JSON.stringify(o.version)} is not supported (1 or 2; the legacy v0 format is not implemented)`,
    );
  }
  const tpmQuote = parseTpmQuote(o.tpm_quote);
  const hcl = parseHclReport(fromBase64(o.hcl_report, `${what} hcl_report`));
  const holds = HCL_HOLDS[tee];
  if (hcl.reportType !== holds.reportType) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      `${tee} HCL report does not hold ${holds.name}`,
    );
  }
  return { o, version: o.version, tpmQuote, hcl };
}

function akKey(hcl: HclReport): KeyObject {
  const { akJwk } = parseHclVarData(hcl.varData);
  try {
    return createPublicKey({
      key: { kty: akJwk.kty, n: akJwk.n, e: akJwk.e } as never,
      format: "jwk",
    });
  } catch (cause) {
    throw new EvidenceError("ERR_TPM_AK", "HCLAkPub is not a usable RSA public key", { cause });
  }
}

/** The TPM quote is signed (RSASSA-PKCS1-v1_5, SHA-256) by the AK from the HCL variable data. */
export function verifyTpmSignature(q: TpmQuote, hcl: HclReport): void {
  let ok = false;
  try {
    ok = cryptoVerify("sha256", q.message, akKey(hcl), q.signature);
  } catch (e) {
    if (e instanceof EvidenceError) throw e;
    ok = false;
  }
  if (!ok)
    throw new EvidenceError("ERR_TPM_QUOTE_SIGNATURE", "vTPM quote is not signed by the HCL AK");
}

/** The quote's extraData equals the expected report data exactly (upstream: no padding). */
export function verifyTpmNonce(q: TpmQuote, expected: Uint8Array): void {
  if (!constantTimeEqual(q.info.extraData, expected)) {
    throw new EvidenceError(
      "ERR_TPM_NONCE",
      "vTPM quote nonce does not equal the runtime-data digest",
    );
  }
}

/**
 * SHA-256 over the reported PCR values equals the quote's pcrDigest, and the quote selects
 * exactly PCRs 0..n-1 of the SHA-256 bank, so `pcrNN` claims name the right registers.
 */
export function verifyTpmPcrs(q: TpmQuote): void {
  const sel = q.info.selections;
  const ok =
    sel.length === 1 &&
    sel[0]?.hash === TPM_ALG_SHA256 &&
    sel[0].pcrs.length === q.pcrs.length &&
    sel[0].pcrs.every((p, i) => p === i);
  if (!ok)
    throw new EvidenceError(
      "ERR_TPM_PCR_DIGEST",
      "vTPM quote does not select exactly the reported SHA-256 PCRs",
    );
  const h = createHash("sha256");
  for (const p of q.pcrs) h.update(p);
  if (!constantTimeEqual(new Uint8Array(h.digest()), q.info.pcrDigest)) {
    throw new EvidenceError(
      "ERR_TPM_PCR_DIGEST",
      "digest of the reported PCRs does not match the quote",
    );
  }
}

/** The vTPM quote: signed by the HCL's AK, its nonce the runtime-data digest, its PCR digest. */
export function verifyTpmQuote(q: TpmQuote, hcl: HclReport, expectedReportData: Uint8Array): void {
  verifyTpmSignature(q, hcl);
  verifyTpmNonce(q, expectedReportData);
  verifyTpmPcrs(q);
}

/** HCL var-data binding: the hardware report's REPORT_DATA[0..32] is SHA-256(var data). */
export function verifyHclBinding(hcl: HclReport, reportData: Uint8Array, what: string): void {
  if (!constantTimeEqual(hcl.varDataSha256, reportData.subarray(0, 32))) {
    throw new EvidenceError(
      "ERR_HCL_VAR_DATA",
      `${what} report data does not carry SHA-256 of the HCL variable data`,
    );
  }
}

/** Evidence v2: the var data's `user-data` starts with the expected report data. */
export function verifyUserData(hcl: HclReport, expected: Uint8Array): void {
  const { userData } = parseHclVarData(hcl.varData);
  if (
    !userData ||
    userData.length < expected.length ||
    !constantTimeEqual(userData.subarray(0, expected.length), expected)
  ) {
    throw new EvidenceError(
      "ERR_REPORT_DATA_MISMATCH",
      "HCL user-data does not start with the runtime-data digest",
    );
  }
}

/** PCR8 == SHA-256(0^32 ‖ digest); Azure attesters extend PCR8 once, so digest must be 32 bytes. */
export function verifyInitDataPcr(q: TpmQuote, digest: Uint8Array): void {
  if (digest.length !== 32) {
    throw new EvidenceError(
      "ERR_INIT_DATA_LENGTH",
      `vTPM init-data binding needs a 32-byte (sha256) digest, got ${digest.length}`,
    );
  }
  const pcr = q.pcrs[INITDATA_PCR];
  const want = createHash("sha256").update(new Uint8Array(32)).update(digest).digest();
  if (!pcr || !constantTimeEqual(new Uint8Array(want), pcr)) {
    throw new EvidenceError(
      "ERR_INIT_DATA_MISMATCH",
      `PCR${INITDATA_PCR} does not hold the init-data digest`,
    );
  }
}

/** The `tpm` claim (`pcr00`..`pcrNN`, hex) and the vTPM overrides of report_data/init_data. */
export function tpmClaims(q: TpmQuote): {
  tpm: Record<string, string>;
  report_data: string;
  init_data?: string;
} {
  const tpm: Record<string, string> = {};
  q.pcrs.forEach((p, i) => {
    tpm[`pcr${String(i).padStart(2, "0")}`] = Buffer.from(p).toString("hex");
  });
  const out: { tpm: Record<string, string>; report_data: string; init_data?: string } = {
    tpm,
    report_data: Buffer.from(q.info.extraData).toString("hex"),
  };
  const p8 = q.pcrs[INITDATA_PCR];
  if (p8) out.init_data = Buffer.from(p8).toString("hex");
  return out;
}
