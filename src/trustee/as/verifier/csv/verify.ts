/**
 * The `csv` verifier (Hygon CSV), as upstream Trustee's (deps/verifier/src/csv): the chain
 * HRK → HSK → CEK → PEK, the report's SM2 signature under the PEK, REPORT_DATA against the
 * runtime-data digest, and for version 2 reports the CC event log replayed (SM3) against
 * RTMR1..4. Claims are upstream's, field for field.
 *
 * Where we differ, on purpose:
 * - No HSK/CEK at all (not in the evidence, no store, no KDS) is refused as "chain
 *   unverifiable" (`ERR_CERT_MISSING`) unless the operator allows PEK-only trust; then the
 *   claims say so (`pek_only: true`, `pek_public_key`) and only the report signature binds.
 * - Init-data: a CSV report (versions 1 and 2) has no field the host or guest can set at launch,
 *   and the CSV attester binds none; upstream logs "CSV does not support init data hash
 *   mechanism" and goes on. So do we, and the claims carry no `init_data`, so the EAR has no
 *   `init_data_claims` a policy could mistake for bound ones.
 */
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { regularize, toHex } from "../../../../tee/common/bytes.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import {
  CSV_ALGO,
  CSV_RTMR_COUNT,
  CSV_USAGE,
  type CsvCaCert,
  type CsvCert,
  type CsvEvidence,
  csvPolicyFields,
} from "../../../../tee/csv/index.js";
import { parseCcel } from "../../../../tee/eventlog/ccel.js";
import { replayAndMatch } from "../../../../tee/eventlog/replay.js";
import { verifyCsvChain, verifyCsvSignature } from "./chain.js";
import { assertHygonRoot, shippedHygonRoot } from "./hygon-root.js";

/** What CSV evidence is checked against. */
export interface CsvVerifyOptions {
  /** Runtime-data digest; REPORT_DATA must be it zero-padded/truncated to 64 bytes. */
  expectedReportData?: Uint8Array;
  /** The chip's HSK and CEK from a store or Hygon's KDS, used when the evidence has none. */
  hskCek?: { hsk: CsvCaCert; cek: CsvCert };
  /** Trust anchor instead of the shipped HRK (tests with their own PKI). No flag or config. */
  root?: CsvCaCert;
  /**
   * Accept evidence whose HSK/CEK are nowhere to be had, trusting the PEK it carries (the
   * claims then carry `pek_only: true`). Default false: refused with ERR_CERT_MISSING.
   */
  allowPekOnly?: boolean;
}

/** Size of REPORT_DATA. */
export const CSV_REPORT_DATA_SIZE = 64;

function le32hex(v: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b.toString("hex");
}

/** Verifies CSV evidence and returns upstream's claims. */
export function verifyCsvEvidence(
  ev: CsvEvidence,
  o: CsvVerifyOptions = {},
): Record<string, unknown> {
  const hskCek = ev.hskCek ?? o.hskCek;
  if (hskCek) {
    const root = o.root ?? shippedHygonRoot();
    if (o.root) assertHygonRoot(root, "configured HRK");
    verifyCsvChain(root, hskCek.hsk, hskCek.cek, ev.pek);
  } else if (!o.allowPekOnly) {
    throw new EvidenceError(
      "ERR_CERT_MISSING",
      `chain unverifiable: no HSK/CEK for chip ${ev.serialNumber} (not in the evidence, not in the HSK/CEK store, no Hygon KDS configured), so the PEK cannot be traced to the Hygon root; give them, or allow PEK-only trust explicitly`,
    );
  } else if (ev.pek.usage !== CSV_USAGE.PEK) {
    throw new EvidenceError(
      "ERR_SIGNATURE",
      `PEK certificate has usage 0x${ev.pek.usage.toString(16)}, not PEK (0x1002)`,
    );
  }
  // sig_usage and sig_algo are outside the signed bytes; a report the PEK signed says PEK and
  // SM2 there, so anything else is refused (upstream prints whatever they hold).
  if (ev.report.sigUsage !== CSV_USAGE.PEK || ev.report.sigAlgo !== CSV_ALGO.SM2_SA) {
    throw new EvidenceError(
      "ERR_SIGNATURE",
      `CSV report names signature usage 0x${ev.report.sigUsage.toString(16)} / algorithm ${ev.report.sigAlgo}, not the PEK's SM2 (0x1002 / 4)`,
    );
  }
  // The report is signed by the PEK with the PEK's user ID (csv-rs `(&pek, &tee_info).verify()`).
  if (!verifyCsvSignature(ev.pek.key, ev.pek.userId, ev.report.signed, ev.report.signature)) {
    throw new EvidenceError("ERR_SIGNATURE", "CSV report signature does not verify with the PEK");
  }
  const r = ev.report;
  if (o.expectedReportData !== undefined) {
    const want = regularize(o.expectedReportData, CSV_REPORT_DATA_SIZE);
    if (!constantTimeEqual(want, r.reportData)) {
      throw new EvidenceError(
        "ERR_REPORT_DATA_MISMATCH",
        "CSV REPORT_DATA is not the expected runtime-data digest",
      );
    }
  }
  const claims: Record<string, unknown> = {
    version: String(r.version),
    policy: csvPolicyFields(r.policy),
    user_pubkey_digest: toHex(r.userPubkeyDigest),
    vm_id: toHex(r.vmId),
    vm_version: toHex(r.vmVersion),
    report_data: toHex(r.reportData),
    mnonce: toHex(r.mnonce),
    measure: toHex(r.measure),
    sig_usage: le32hex(r.sigUsage),
    sig_algo: le32hex(r.sigAlgo),
  };
  if (r.version === 1) {
    claims.anonce = le32hex(r.anonce);
  } else if (r.v2) {
    claims.build = r.v2.build;
    claims.rtmr_version = r.v2.rtmrVersion;
    claims.reserved0 = toHex(r.v2.reserved0);
    for (let i = 0; i < CSV_RTMR_COUNT; i++) claims[`rtmr${i}`] = toHex(r.v2.rtmr[i] as Uint8Array);
    claims.reserved1 = toHex(r.v2.reserved1);
    if (ev.ccEventlog) {
      // Upstream replays CCEL MR indices 1..4 with SM3 against RTMR1..4 (version 2 only).
      const log = parseCcel(ev.ccEventlog);
      replayAndMatch(
        log,
        [1, 2, 3, 4].map((i) => ({ index: i, value: r.v2?.rtmr[i] as Uint8Array, alg: "SM3" })),
      );
      claims.uefi_event_logs = log.uefi_event_logs;
    }
  }
  claims.serial_number = ev.serialNumber;
  if (!hskCek) {
    // PEK-only trust: say so, and name the key so a policy can pin the PEKs it trusts.
    claims.pek_only = true;
    claims.pek_public_key = `04${toHex(ev.pek.key.x)}${toHex(ev.pek.key.y)}`;
  }
  return claims;
}
