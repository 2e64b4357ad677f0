/**
 * Upstream's NVIDIA device evidence JSON (`NvDeviceEvidence`):
 * `{"device_evidence_list": [{"arch", "uuid"?, "evidence", "certificate"}]}` where `evidence` is
 * the report in hex (or standard base64) and `certificate` the standard base64 of a PEM chain.
 */
import { fromBase64, fromHex } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";
import { NVIDIA_REPORT_MAX } from "./spdm.js";

/** Device architectures upstream names (serde names and aliases → Display form). */
export type NvidiaArch = "Hopper" | "Blackwell" | "LS10";

/** One device's evidence. */
export interface NvidiaDeviceEvidence {
  arch: NvidiaArch;
  uuid: string;
  report: Uint8Array;
  /** The PEM chain text, leaf (signing certificate) first, root last. */
  certificateChain: string;
}

/** Most devices one evidence may carry (8 GPUs + 4 switches in a PPCIE system). */
export const NVIDIA_MAX_DEVICES = 16;

const ARCH: Readonly<Record<string, NvidiaArch>> = {
  Hopper: "Hopper",
  HOPPER: "Hopper",
  Blackwell: "Blackwell",
  BLACKWELL: "Blackwell",
  LS10: "LS10",
};

function bad(why: string): never {
  throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `NVIDIA evidence: ${why}`);
}

/** Parses the evidence JSON into per-device reports and chains. */
export function parseNvidiaEvidence(evidence: unknown): NvidiaDeviceEvidence[] {
  const list = (evidence as { device_evidence_list?: unknown } | null)?.device_evidence_list;
  if (typeof evidence !== "object" || evidence === null || !Array.isArray(list)) {
    bad('expected {"device_evidence_list": [...]}');
  }
  if (list.length === 0) bad("device_evidence_list is empty");
  if (list.length > NVIDIA_MAX_DEVICES) {
    throw new EvidenceError(
      "ERR_EVIDENCE_OVERSIZE",
      `NVIDIA evidence lists ${list.length} devices, limit ${NVIDIA_MAX_DEVICES}`,
    );
  }
  return list.map((d: Record<string, unknown>, i) => {
    const at = `device_evidence_list[${i}]`;
    if (typeof d !== "object" || d === null) bad(`${at} must be an object`);
    const arch =
      typeof d.arch === "string" && Object.hasOwn(ARCH, d.arch) ? ARCH[d.arch] : undefined;
    if (arch === undefined) bad(`${at}.arch must be Hopper, Blackwell or LS10`);
    if (d.uuid !== undefined && typeof d.uuid !== "string") bad(`${at}.uuid must be a string`);
    if (typeof d.evidence !== "string") bad(`${at}.evidence must be a string`);
    if (typeof d.certificate !== "string") bad(`${at}.certificate must be a string`);
    if (d.evidence.length > 4 * NVIDIA_REPORT_MAX || d.certificate.length > 4 * NVIDIA_REPORT_MAX) {
      throw new EvidenceError(
        "ERR_EVIDENCE_OVERSIZE",
        `${at} is larger than ${NVIDIA_REPORT_MAX} bytes`,
      );
    }
    // Upstream tries hex first and falls back to base64.
    const hex = /^([0-9a-fA-F]{2})*$/.test(d.evidence.trim());
    const report = hex
      ? fromHex(d.evidence.trim(), `${at}.evidence`)
      : fromBase64(d.evidence, `${at}.evidence`);
    const chain = Buffer.from(fromBase64(d.certificate, `${at}.certificate`)).toString("utf8");
    return {
      arch: arch as NvidiaArch,
      uuid: (d.uuid as string | undefined) ?? "unknown",
      report,
      certificateChain: chain,
    };
  });
}
