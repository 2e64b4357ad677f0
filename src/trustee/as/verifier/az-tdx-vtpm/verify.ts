import { fromBase64 } from "../../../../tee/common/bytes.js";
import { type Clock, systemClock } from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import { tdField } from "../../../../tee/tdx/body.js";
import { type DcapQuote, parseDcapQuote } from "../../../../tee/tdx/quote.js";
import {
  type AzEvidenceCommon,
  parseAzCommon,
  tpmClaims,
  verifyHclBinding,
  verifyInitDataPcr,
  verifyTpmQuote,
  verifyUserData,
} from "../az-snp-vtpm/vtpm.js";
import { tdxClaims } from "../tdx/claims.js";
import { type DcapCollateral, tcbClaims } from "../tdx/collateral.js";
import { verifyDcapSignatures } from "../tdx/dcap.js";

/** Azure TDX vTPM evidence (v1/v2): vTPM quote, HCL report (with TD report), TD quote. */
export interface AzTdxEvidence extends AzEvidenceCommon {
  tdQuote: DcapQuote;
}

/** Parses `{"version":1|2,"tpm_quote":{...},"hcl_report":"<b64url>","td_quote":"<b64url>"}`. */
export function parseAzTdxEvidence(json: unknown): AzTdxEvidence {
  const c = parseAzCommon(json, "az-tdx-vtpm");
  const tdQuote = parseDcapQuote(fromBase64(c.o.td_quote, "az-tdx-vtpm td_quote"));
  if (tdQuote.version === 3)
    throw new EvidenceError("ERR_EVIDENCE_VERSION", "az-tdx-vtpm td_quote is an SGX quote");
  return { version: c.version, tpmQuote: c.tpmQuote, hcl: c.hcl, tdQuote };
}

/**
 * Verifies Azure TDX vTPM evidence as upstream does: vTPM quote signature, nonce and PCR
 * digest; the TD quote by DCAP; TD quote REPORT_DATA[0..32] = SHA-256(HCL var data); v2
 * user-data; PCR8 for init-data. Claims: TDX quote claims (no event log) + `tpm` + overrides.
 */
export function verifyAzTdxEvidence(
  ev: AzTdxEvidence,
  opts: {
    expectedReportData: Uint8Array;
    expectedInitDataHash?: Uint8Array;
    collateral?: DcapCollateral;
    clock?: Clock;
  },
): Record<string, unknown> {
  const clock = opts.clock ?? systemClock;
  verifyTpmQuote(ev.tpmQuote, ev.hcl, opts.expectedReportData);
  const { pck } = verifyDcapSignatures(ev.tdQuote, clock);
  const tcb = opts.collateral ? tcbClaims(ev.tdQuote, pck, opts.collateral, clock()) : null;
  verifyHclBinding(ev.hcl, tdField(ev.tdQuote.body, "report_data"), "TD quote");
  if (ev.version >= 2) verifyUserData(ev.hcl, opts.expectedReportData);
  if (opts.expectedInitDataHash) verifyInitDataPcr(ev.tpmQuote, opts.expectedInitDataHash);
  return {
    ...tdxClaims(ev.tdQuote, null, pck.platform),
    ...(tcb ?? {}),
    ...tpmClaims(ev.tpmQuote),
  };
}
