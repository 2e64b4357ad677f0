import { constantTimeEqual } from "../../../../crypto/compare.js";
import { fromBase64, regularize, toHex } from "../../../../tee/common/bytes.js";
import { type Clock, systemClock } from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import { SGX_BODY, type SgxBodyField, sgxField } from "../../../../tee/sgx/body.js";
import type { PlatformInfo } from "../../../../tee/tdx/pck.js";
import { type DcapQuote, headerField, parseDcapQuote } from "../../../../tee/tdx/quote.js";
import { type DcapCollateral, tcbClaims } from "../tdx/collateral.js";
import { verifyDcapSignatures } from "../tdx/dcap.js";

/** Parses upstream's SGX evidence `{"quote": "<std b64 DCAP quote v3>"}`. */
export function parseSgxEvidence(json: unknown): DcapQuote {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "SGX evidence must be a JSON object");
  }
  const quote = (json as Record<string, unknown>).quote;
  if (typeof quote !== "string" || quote.length === 0) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "SGX evidence quote is missing or empty");
  }
  const q = parseDcapQuote(fromBase64(quote, "SGX quote"));
  if (q.version !== 3)
    throw new EvidenceError(
      "ERR_EVIDENCE_VERSION",
      `expected an SGX quote (v3), got v${q.version}`,
    );
  return q;
}

/**
 * Upstream's SGX claims: `header` (with the v3 names `att_key_data_0`, `qe_svn`, `pce_svn`),
 * `body` (literal dotted `attributes.flags`/`attributes.xfrm`), `report_data`, `init_data`
 * (CONFIGID) and `platform_instance_id`.
 */
export function sgxClaims(q: DcapQuote, platform: PlatformInfo): Record<string, unknown> {
  const reserved = headerField(q, "RESERVED");
  const header = {
    version: toHex(headerField(q, "VERSION")),
    att_key_type: toHex(headerField(q, "ATT_KEY_TYPE")),
    att_key_data_0: toHex(headerField(q, "TEE_TYPE")),
    qe_svn: toHex(reserved.subarray(0, 2)),
    pce_svn: toHex(reserved.subarray(2, 4)),
    vendor_id: toHex(headerField(q, "VENDOR_ID")),
    user_data: toHex(headerField(q, "USER_DATA")),
  };
  const body: Record<string, string> = {};
  for (const f of Object.keys(SGX_BODY) as SgxBodyField[]) body[f] = toHex(sgxField(q.body, f));
  const claims: Record<string, unknown> = {
    header,
    body,
    report_data: body.report_data,
    init_data: body.config_id,
  };
  if (platform.platformInstanceId) claims.platform_instance_id = toHex(platform.platformInstanceId);
  return claims;
}

/** Inputs of {@link verifySgxQuote}. */
export interface SgxVerifyOptions {
  expectedReportData?: Uint8Array;
  expectedInitDataHash?: Uint8Array;
  collateral?: DcapCollateral;
  clock?: Clock;
}

/** Verifies an SGX DCAP quote: DCAP signatures, REPORT_DATA (pad 64), CONFIGID (pad 64). */
export function verifySgxQuote(q: DcapQuote, opts: SgxVerifyOptions = {}): Record<string, unknown> {
  const clock = opts.clock ?? systemClock;
  const { pck } = verifyDcapSignatures(q, clock);
  const tcb = opts.collateral ? tcbClaims(q, pck, opts.collateral, clock()) : null;
  if (opts.expectedReportData) {
    if (
      !constantTimeEqual(regularize(opts.expectedReportData, 64), sgxField(q.body, "report_data"))
    ) {
      throw new EvidenceError(
        "ERR_REPORT_DATA_MISMATCH",
        "SGX REPORT_DATA does not equal the runtime-data digest",
      );
    }
  }
  if (opts.expectedInitDataHash) {
    if (
      !constantTimeEqual(regularize(opts.expectedInitDataHash, 64), sgxField(q.body, "config_id"))
    ) {
      throw new EvidenceError(
        "ERR_INIT_DATA_MISMATCH",
        "SGX CONFIGID does not equal the init-data digest",
      );
    }
  }
  const claims = sgxClaims(q, pck.platform);
  if (tcb) Object.assign(claims, tcb);
  return claims;
}
