/**
 * The `sample` TEE evidence format (guest-components attester/src/sample, trustee
 * deps/verifier/src/sample): `{"svn":"1","report_data":"<standard base64>"}`. The report data is
 * carried as-is, neither padded nor truncated. There is no hardware root of trust: a verifier
 * can only check the binding, never that a TEE produced it.
 */
import { CocoError } from "../../errors.js";

/** Codes for malformed sample evidence. */
export type SampleEvidenceErrorCode = "ERR_SAMPLE_EVIDENCE";

/** Sample evidence that does not parse. */
export class SampleEvidenceError extends CocoError<SampleEvidenceErrorCode> {}

/** The sample evidence JSON as sent in `primary_evidence`. */
export interface SampleEvidence {
  svn: string;
  report_data: string;
}

/** The `svn` the upstream sample attester reports for the CPU evidence. */
export const SAMPLE_SVN = "1";

/** The `svn` the upstream sampledevice attester reports. */
export const SAMPLE_DEVICE_SVN = "2";

/** Largest report data accepted (the largest hash the protocol negotiates is 64 bytes). */
export const SAMPLE_MAX_REPORT_DATA = 64;

const STD_B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Builds sample evidence binding `reportData` (the attester side). */
export function createSampleEvidence(reportData: Uint8Array, svn = SAMPLE_SVN): SampleEvidence {
  if (reportData.length > SAMPLE_MAX_REPORT_DATA) {
    throw new SampleEvidenceError(
      "ERR_SAMPLE_EVIDENCE",
      `report data is ${reportData.length} bytes; at most ${SAMPLE_MAX_REPORT_DATA}`,
    );
  }
  return { svn, report_data: Buffer.from(reportData).toString("base64") };
}

/** Parsed sample evidence. */
export interface ParsedSampleEvidence {
  svn: string;
  reportData: Uint8Array;
  /** The report data as received (standard base64), echoed in claims. */
  reportDataBase64: string;
}

/** Parses untrusted sample evidence JSON; any deviation is ERR_SAMPLE_EVIDENCE naming the field. */
export function parseSampleEvidence(value: unknown): ParsedSampleEvidence {
  const bad = (why: string): never => {
    throw new SampleEvidenceError("ERR_SAMPLE_EVIDENCE", `sample evidence: ${why}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    bad("must be a JSON object");
  }
  const o = value as Record<string, unknown>;
  if (typeof o.svn !== "string" || o.svn.length === 0 || o.svn.length > 32) {
    bad("svn must be a non-empty string of at most 32 characters");
  }
  const rd = o.report_data;
  if (typeof rd !== "string" || rd.length > 128 || rd.length % 4 !== 0 || !STD_B64.test(rd)) {
    bad("report_data must be standard base64 of at most 64 bytes");
  }
  const bytes = new Uint8Array(Buffer.from(rd as string, "base64"));
  if (bytes.length > SAMPLE_MAX_REPORT_DATA) bad("report_data is longer than 64 bytes");
  return { svn: o.svn as string, reportData: bytes, reportDataBase64: rd as string };
}
