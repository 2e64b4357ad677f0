/**
 * Local verification of NVIDIA Hopper GPU evidence, as upstream Trustee's `Nvidia` verifier in
 * `Local` mode: per device, the chain to NVIDIA's root, the FWID binding, the report signature,
 * the SPDM nonce against the runtime data, and (our addition) measurements against reference
 * values; then upstream's claims `{arch, uuid, measurements, config}`.
 */
import { verify } from "node:crypto";
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { regularize, toHex } from "../../../../tee/common/bytes.js";
import { type Clock, publicKeyOf, systemClock } from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import {
  HOPPER_SIGNATURE_SIZE,
  type NvidiaDeviceEvidence,
  type NvidiaReport,
  parseNvidiaReport,
  SPDM_NONCE_SIZE,
} from "../../../../tee/nvidia/index.js";
import { verifyNvidiaChain } from "./chain.js";

/** Allowed measurement values per block index (hex, lowercase), like a driver/VBIOS RIM. */
export type NvidiaReferenceMeasurements = Readonly<Record<string, readonly string[]>>;

/** What a device is checked against. */
export interface NvidiaVerifyOptions {
  /** The runtime-data digest; the SPDM request nonce must be its first 32 bytes (zero-padded). */
  expectedReportData?: Uint8Array;
  /** When given, every measurement block must hold one of the listed values for its index. */
  referenceMeasurements?: NvidiaReferenceMeasurements;
  clock?: Clock;
  /**
   * SHA-256 of a device root to trust instead of NVIDIA's (pre-production parts, tests that
   * sign their own reports). No CLI flag or config key sets it.
   */
  rootSha256?: string;
}

/** Checks the report signature (ECDSA P-384 over SHA-384 of request + response, raw r‖s). */
export function verifyNvidiaReportSignature(
  report: NvidiaReport,
  leaf: import("node:crypto").X509Certificate,
): void {
  const ok = verify(
    "sha384",
    report.signedBytes,
    { key: publicKeyOf(leaf), dsaEncoding: "ieee-p1363" },
    report.signature,
  );
  if (!ok)
    throw new EvidenceError(
      "ERR_SIGNATURE",
      "NVIDIA report signature does not verify with the device signing certificate",
    );
}

function checkMeasurements(report: NvidiaReport, rv: NvidiaReferenceMeasurements): void {
  for (const m of report.measurements) {
    const allowed = Object.hasOwn(rv, String(m.index)) ? rv[String(m.index)] : undefined;
    if (allowed === undefined) {
      throw new EvidenceError(
        "ERR_MEASUREMENT_MISMATCH",
        `NVIDIA measurement ${m.index} has no reference value`,
      );
    }
    if (!allowed.includes(toHex(m.value))) {
      throw new EvidenceError(
        "ERR_MEASUREMENT_MISMATCH",
        `NVIDIA measurement ${m.index} matches none of its ${allowed.length} reference value(s)`,
      );
    }
  }
}

/** Verifies one device and returns upstream's local claims for it. */
export function verifyNvidiaDevice(
  dev: NvidiaDeviceEvidence,
  o: NvidiaVerifyOptions = {},
): Record<string, unknown> {
  if (dev.arch !== "Hopper") {
    throw new EvidenceError(
      "ERR_EVIDENCE_UNSUPPORTED",
      `local verification supports Hopper GPUs, not ${dev.arch} (upstream: "Device architecture not supported")`,
    );
  }
  const report = parseNvidiaReport(dev.report, HOPPER_SIGNATURE_SIZE);
  const fwid = report.opaqueData.fwid;
  if (typeof fwid !== "string")
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "NVIDIA report has no fwid in its opaque data",
    );
  const leaf = verifyNvidiaChain(dev.certificateChain, fwid, o.clock ?? systemClock, o.rootSha256);
  verifyNvidiaReportSignature(report, leaf);
  if (o.expectedReportData !== undefined) {
    if (
      !constantTimeEqual(regularize(o.expectedReportData, SPDM_NONCE_SIZE), report.requestNonce)
    ) {
      throw new EvidenceError(
        "ERR_REPORT_DATA_MISMATCH",
        "NVIDIA report nonce is not the expected report data",
      );
    }
  }
  if (o.referenceMeasurements) checkMeasurements(report, o.referenceMeasurements);
  return nvidiaClaims(dev, report);
}

/** Upstream's claims for a locally verified device (`NvDeviceReportAndCertClaim`). */
export function nvidiaClaims(
  dev: NvidiaDeviceEvidence,
  report: NvidiaReport,
): Record<string, unknown> {
  const measurements: Record<string, string> = {};
  for (const m of report.measurements) measurements[String(m.index)] = toHex(m.value);
  return { arch: dev.arch, uuid: dev.uuid, measurements, config: report.opaqueData };
}
