import type { X509Certificate } from "node:crypto";
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { fromBase64, regularize } from "../../../../tee/common/bytes.js";
import { type Clock, systemClock } from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import { type CcEventLog, parseCcel } from "../../../../tee/eventlog/ccel.js";
import { replayAndMatch } from "../../../../tee/eventlog/replay.js";
import { tdField } from "../../../../tee/tdx/body.js";
import { type DcapQuote, parseDcapQuote } from "../../../../tee/tdx/quote.js";
import { tdxClaims } from "./claims.js";
import { type DcapCollateral, tcbClaims } from "./collateral.js";
import { verifyDcapSignatures } from "./dcap.js";

/** Upstream's TDX evidence: `{"quote": "<std b64>", "cc_eventlog": "<std b64>" | null}`. */
export interface TdxEvidence {
  quote: DcapQuote;
  ccel: CcEventLog | null;
}

/** Parses the TDX evidence JSON (quote must be v4 or v5). */
export function parseTdxEvidence(json: unknown): TdxEvidence {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "TDX evidence must be a JSON object");
  }
  const o = json as Record<string, unknown>;
  if (typeof o.quote !== "string" || o.quote.length === 0) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "TDX evidence quote is missing or empty");
  }
  const quote = parseDcapQuote(fromBase64(o.quote, "TDX quote"));
  if (quote.version === 3) {
    throw new EvidenceError(
      "ERR_EVIDENCE_VERSION",
      "expected a TDX quote (v4/v5), got an SGX quote (v3)",
    );
  }
  let ccel: CcEventLog | null = null;
  if (o.cc_eventlog !== undefined && o.cc_eventlog !== null && o.cc_eventlog !== "") {
    ccel = parseCcel(fromBase64(o.cc_eventlog, "TDX cc_eventlog"));
  }
  return { quote, ccel };
}

/** Inputs of {@link verifyTdxEvidence}. */
export interface TdxVerifyOptions {
  expectedReportData?: Uint8Array;
  expectedInitDataHash?: Uint8Array;
  /** Operator-supplied DCAP collateral; without it no TCB status claims are produced. */
  collateral?: DcapCollateral;
  clock?: Clock;
  /** Trust anchor instead of the pinned Intel SGX Root CA (pre-production roots; tests). */
  root?: X509Certificate;
}

/**
 * Verifies TDX evidence in upstream's order: DCAP (PCK chain to the pinned Intel root, QE
 * report, attestation key, quote signature; TCB status when collateral is given), REPORT_DATA,
 * MRCONFIGID, then the CCEL replayed against RTMR0..3 (CCEL MR index 1..4, SHA-384).
 */
export function verifyTdxEvidence(
  ev: TdxEvidence,
  opts: TdxVerifyOptions = {},
): Record<string, unknown> {
  const clock = opts.clock ?? systemClock;
  const q = ev.quote;
  const { pck } = verifyDcapSignatures(q, clock, opts.root);
  const tcb = opts.collateral
    ? tcbClaims(q, pck, { root: opts.root, ...opts.collateral }, clock())
    : null;
  if (opts.expectedReportData) {
    if (
      !constantTimeEqual(regularize(opts.expectedReportData, 64), tdField(q.body, "report_data"))
    ) {
      throw new EvidenceError(
        "ERR_REPORT_DATA_MISMATCH",
        "TDX REPORT_DATA does not equal the runtime-data digest",
      );
    }
  }
  if (opts.expectedInitDataHash) {
    if (
      !constantTimeEqual(regularize(opts.expectedInitDataHash, 48), tdField(q.body, "mr_config_id"))
    ) {
      throw new EvidenceError(
        "ERR_INIT_DATA_MISMATCH",
        "TDX MRCONFIGID does not equal the init-data digest",
      );
    }
  }
  if (ev.ccel) {
    replayAndMatch(ev.ccel, [
      { index: 1, value: tdField(q.body, "rtmr_0") },
      { index: 2, value: tdField(q.body, "rtmr_1") },
      { index: 3, value: tdField(q.body, "rtmr_2") },
      { index: 4, value: tdField(q.body, "rtmr_3") },
    ]);
  }
  const claims = tdxClaims(q, ev.ccel, pck.platform);
  if (tcb) Object.assign(claims, tcb);
  return claims;
}
