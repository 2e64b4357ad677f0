/**
 * The `tpm` verifier, as upstream Trustee's (deps/verifier/src/tpm): quote signature under the
 * AK the evidence carries (its trust is the attestation policy's: `trusted_aks`), PCR digest,
 * nonce, init-data in PCR8; and, our addition, replay of an event log against the quoted PCRs.
 */
import { createHash, verify } from "node:crypto";
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { regularize, toHex } from "../../../../tee/common/bytes.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import { parseCcel } from "../../../../tee/eventlog/ccel.js";
import { replayRegister } from "../../../../tee/eventlog/replay.js";
import type { TpmEvidence } from "../../../../tee/tpm/index.js";
import { INITDATA_PCR, verifyTpmPcrs } from "../az-snp-vtpm/vtpm.js";

/** What TPM evidence is checked against. */
export interface TpmVerifyOptions {
  /** Runtime-data digest; the quote's extraData must be it zero-padded/truncated to 32 bytes. */
  expectedReportData?: Uint8Array;
  /** Init-data digest (32 bytes); PCR8 must be SHA-256(0^32 ‖ digest). */
  expectedInitDataHash?: Uint8Array;
}

/** TPM_REPORT_DATA_SIZE: upstream's attester pads the nonce to 32 bytes. */
export const TPM_NONCE_SIZE = 32;

/** Verifies TPM evidence and returns upstream's claims (+ `uefi_event_logs` with an event log). */
export function verifyTpmEvidence(
  ev: TpmEvidence,
  o: TpmVerifyOptions = {},
): Record<string, unknown> {
  let ok = false;
  try {
    ok = verify("sha256", ev.message, ev.akPublic, ev.signature);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new EvidenceError(
      "ERR_TPM_QUOTE_SIGNATURE",
      "TPM quote signature does not verify with ak_public",
    );
  verifyTpmPcrs({ signature: ev.signature, message: ev.message, pcrs: ev.pcrs, info: ev.info });
  if (o.expectedReportData !== undefined) {
    if (!constantTimeEqual(ev.info.extraData, regularize(o.expectedReportData, TPM_NONCE_SIZE))) {
      throw new EvidenceError(
        "ERR_TPM_NONCE",
        "TPM quote nonce doesn't match expected report_data",
      );
    }
  }
  const pcr8 = ev.pcrs[INITDATA_PCR];
  if (o.expectedInitDataHash !== undefined) {
    if (o.expectedInitDataHash.length !== 32) {
      throw new EvidenceError(
        "ERR_INIT_DATA_LENGTH",
        `TPM init-data binding needs a 32-byte digest, got ${o.expectedInitDataHash.length}`,
      );
    }
    const want = createHash("sha256")
      .update(new Uint8Array(32))
      .update(o.expectedInitDataHash)
      .digest();
    if (!pcr8 || !constantTimeEqual(new Uint8Array(want), pcr8)) {
      throw new EvidenceError(
        "ERR_INIT_DATA_MISMATCH",
        `TPM PCR[${INITDATA_PCR}] doesn't match expected initdata hash`,
      );
    }
  }
  const claims: Record<string, unknown> = {
    init_data: pcr8 ? toHex(pcr8) : "",
    report_data: toHex(ev.info.extraData),
    ak_public: ev.akPublicB64,
  };
  ev.pcrs.forEach((p, i) => {
    claims[`pcr${String(i).padStart(2, "0")}`] = toHex(p);
  });
  if (ev.eventlog) {
    const log = parseCcel(ev.eventlog);
    const used = new Set(log.uefi_event_logs.map((e) => e.index));
    for (const i of [...used].sort((a, b) => a - b)) {
      const quoted = ev.pcrs[i];
      if (!quoted)
        throw new EvidenceError(
          "ERR_EVENTLOG_REPLAY",
          `event log extends PCR${i}, which the quote does not cover`,
        );
      const replayed = replayRegister(log, i, "SHA-256");
      if (!constantTimeEqual(replayed, quoted)) {
        throw new EvidenceError(
          "ERR_EVENTLOG_REPLAY",
          `event log replay of PCR${i} does not give the quoted value`,
        );
      }
    }
    claims.uefi_event_logs = log.uefi_event_logs;
  }
  return claims;
}
