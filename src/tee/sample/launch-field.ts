/**
 * The sample TEE's launch field: the development stand-in for TDX MRCONFIGID / SNP HOST_DATA.
 * The sandbox launcher (host side) computes the init-data digest the way Kata does for a
 * platform without protection (`calculate_initdata_digest` with `adjust_digest` keeping the
 * digest's own length) and hands it to the guest agent process in the environment at exec time,
 * standard base64 in {@link SAMPLE_LAUNCH_FIELD_ENV}. The sample attester reads it once when the
 * AA starts. It gives NO protection: whoever starts the process chooses the value and nothing
 * signs it; it only lets the init-data binding be exercised end to end without hardware.
 */
import {
  isSampleLaunchFieldLength,
  SAMPLE_LAUNCH_FIELD_LENGTHS,
  SampleEvidenceError,
} from "./evidence.js";

/** Environment variable carrying the launch field (standard base64) into the guest agent. */
export const SAMPLE_LAUNCH_FIELD_ENV = "COCO_SAMPLE_LAUNCH_INIT_DATA";

/** The launch field for an init-data digest (the digest itself; its length is checked). */
export function toSampleLaunchField(initDataDigest: Uint8Array): Uint8Array {
  if (!isSampleLaunchFieldLength(initDataDigest.length)) {
    throw new SampleEvidenceError(
      "ERR_SAMPLE_EVIDENCE",
      `init-data digest is ${initDataDigest.length} bytes; the sample launch field holds ${SAMPLE_LAUNCH_FIELD_LENGTHS.join(", ")}`,
    );
  }
  return new Uint8Array(initDataDigest);
}

/** Encodes a launch field for {@link SAMPLE_LAUNCH_FIELD_ENV}. */
export function encodeSampleLaunchField(field: Uint8Array): string {
  return Buffer.from(toSampleLaunchField(field)).toString("base64");
}

/**
 * Parses the value of {@link SAMPLE_LAUNCH_FIELD_ENV}: undefined or empty means no field (a
 * sandbox without init-data); anything else must be standard base64 of 32, 48 or 64 bytes.
 */
export function parseSampleLaunchField(value: string | undefined): Uint8Array | undefined {
  if (value === undefined || value === "") return undefined;
  const ok = value.length <= 88 && value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value);
  const bytes = ok ? new Uint8Array(Buffer.from(value, "base64")) : undefined;
  if (!bytes || !isSampleLaunchFieldLength(bytes.length)) {
    throw new SampleEvidenceError(
      "ERR_SAMPLE_EVIDENCE",
      `${SAMPLE_LAUNCH_FIELD_ENV} must be standard base64 of a ${SAMPLE_LAUNCH_FIELD_LENGTHS.join(", ")}-byte field`,
    );
  }
  return bytes;
}
