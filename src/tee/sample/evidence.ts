/**
 * The `sample` TEE evidence format (guest-components attester/src/sample, trustee
 * deps/verifier/src/sample): `{"svn":"1","report_data":"<standard base64>"}`. The report data is
 * carried as-is, neither padded nor truncated. There is no hardware root of trust: a verifier
 * can only check the binding, never that a TEE produced it.
 *
 * coco-ts extension: an OPTIONAL `"init_data":"<standard base64>"` carrying the sample TEE's
 * launch field (see launch-field.ts), the counterpart of TDX MRCONFIGID / SNP HOST_DATA. The
 * name and encoding are those of upstream Trustee's sample evidence before June 2025 (commit
 * 9665c296 removed it because no attester filled it). Upstream's current `SampleTeeEvidence` has
 * no `deny_unknown_fields`, so serde ignores the extra key and upstream still accepts our evidence.
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
  /** The launch field (init-data digest), present only when the sandbox set one. */
  init_data?: string;
}

/** The `svn` the upstream sample attester reports for the CPU evidence. */
export const SAMPLE_SVN = "1";

/** The `svn` the upstream sampledevice attester reports. */
export const SAMPLE_DEVICE_SVN = "2";

/** Largest report data accepted (the largest hash the protocol negotiates is 64 bytes). */
export const SAMPLE_MAX_REPORT_DATA = 64;

/**
 * Lengths of the sample launch field: the init-data digest as-is (sha256/sm3 32, sha384 48,
 * sha512 64 bytes), Kata's `adjust_digest` rule for a platform without protection.
 */
export const SAMPLE_LAUNCH_FIELD_LENGTHS = [32, 48, 64] as const;

/** True when `n` is a valid launch field length. */
export function isSampleLaunchFieldLength(n: number): boolean {
  return (SAMPLE_LAUNCH_FIELD_LENGTHS as readonly number[]).includes(n);
}

const STD_B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Builds sample evidence binding `reportData` (the attester side); `initData` is the launch
 * field, added as `init_data` only when given.
 */
export function createSampleEvidence(
  reportData: Uint8Array,
  svn = SAMPLE_SVN,
  initData?: Uint8Array,
): SampleEvidence {
  if (reportData.length > SAMPLE_MAX_REPORT_DATA) {
    throw new SampleEvidenceError(
      "ERR_SAMPLE_EVIDENCE",
      `report data is ${reportData.length} bytes; at most ${SAMPLE_MAX_REPORT_DATA}`,
    );
  }
  const ev: SampleEvidence = { svn, report_data: Buffer.from(reportData).toString("base64") };
  if (initData !== undefined) {
    if (!isSampleLaunchFieldLength(initData.length)) {
      throw new SampleEvidenceError(
        "ERR_SAMPLE_EVIDENCE",
        `init-data field is ${initData.length} bytes; it must be ${SAMPLE_LAUNCH_FIELD_LENGTHS.join(", ")}`,
      );
    }
    ev.init_data = Buffer.from(initData).toString("base64");
  }
  return ev;
}

/** Parsed sample evidence. */
export interface ParsedSampleEvidence {
  svn: string;
  reportData: Uint8Array;
  /** The report data as received (standard base64), echoed in claims. */
  reportDataBase64: string;
  /** The launch field from `init_data`, absent in upstream's evidence. */
  initData?: Uint8Array;
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
  const out: ParsedSampleEvidence = {
    svn: o.svn as string,
    reportData: bytes,
    reportDataBase64: rd as string,
  };
  if (o.init_data !== undefined) {
    const id = o.init_data;
    const field =
      typeof id === "string" && id.length <= 88 && id.length % 4 === 0 && STD_B64.test(id)
        ? new Uint8Array(Buffer.from(id, "base64"))
        : undefined;
    if (!field || !isSampleLaunchFieldLength(field.length)) {
      bad(
        `init_data must be standard base64 of a ${SAMPLE_LAUNCH_FIELD_LENGTHS.join(", ")}-byte field`,
      );
    }
    out.initData = field as Uint8Array;
  }
  return out;
}
