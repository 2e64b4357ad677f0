import { createHash } from "node:crypto";
import { ByteReader } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";

/**
 * Azure's HCL attestation report ("HCLA"), as produced by the paravisor and read from vTPM NV
 * index 0x01400001 (layout of the `az-cvm-vtpm` crate's `HclReport`):
 * header (32 bytes) ‖ hardware report (1184 bytes: SNP report, or TD report padded) ‖
 * IGVM request data (20-byte header ‖ variable data, a JSON object with the vTPM AK).
 */
export const HCL_HEADER = {
  SIGNATURE: { offset: 0x00, length: 4 }, // "HCLA"
  VERSION: { offset: 0x04, length: 4 },
  REPORT_SIZE: { offset: 0x08, length: 4 },
  REQUEST_TYPE: { offset: 0x0c, length: 4 },
  STATUS: { offset: 0x10, length: 4 },
} as const;
export const HCL_HEADER_SIZE = 32;
export const HCL_HW_REPORT_SIZE = 1184;
/** IGVM_REQUEST_DATA header: data size, version, report type, hash type, variable data size. */
export const IGVM_REQUEST_DATA_HEADER_SIZE = 20;
/** Report types in IGVM_REQUEST_DATA. */
export const HCL_REPORT_TYPE = { SNP: 2, TDX: 4 } as const;
/** The TD report inside the hardware-report field is 1024 bytes (TDREPORT_STRUCT). */
export const TD_REPORT_SIZE = 1024;
/** Upper bound for an HCL report (the NV index is 2600 bytes). */
export const HCL_MAX_SIZE = 8192;

/** A parsed HCL report. */
export interface HclReport {
  raw: Uint8Array;
  reportType: "snp" | "tdx";
  /** The hardware report: a 1184-byte SNP report, or the first 1024 bytes for TDX. */
  hwReport: Uint8Array;
  /** The variable data whose SHA-256 the hardware report's REPORT_DATA[0..32] carries. */
  varData: Uint8Array;
  varDataSha256: Uint8Array;
}

/** Parses an HCL report. Bytes after the variable data (NV index padding) are ignored. */
export function parseHclReport(bytes: Uint8Array): HclReport {
  if (bytes.length > HCL_MAX_SIZE) {
    throw new EvidenceError(
      "ERR_EVIDENCE_OVERSIZE",
      `HCL report is ${bytes.length} bytes, limit ${HCL_MAX_SIZE}`,
    );
  }
  const r = new ByteReader(bytes, "HCL report");
  const sig = r.take(4, "signature");
  if (Buffer.from(sig).toString("latin1") !== "HCLA") {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "HCL report does not start with HCLA", {
      offset: 0,
    });
  }
  r.skip(HCL_HEADER_SIZE - 4, "header");
  const hw = r.take(HCL_HW_REPORT_SIZE, "hardware report");
  const igvmAt = r.pos;
  r.u32("IGVM data size");
  r.u32("IGVM version");
  const type = r.u32("IGVM report type");
  const hashType = r.u32("IGVM report data hash type");
  const varSize = r.u32("IGVM variable data size");
  let reportType: "snp" | "tdx";
  if (type === HCL_REPORT_TYPE.SNP) reportType = "snp";
  else if (type === HCL_REPORT_TYPE.TDX) reportType = "tdx";
  else
    throw new EvidenceError(
      "ERR_EVIDENCE_UNSUPPORTED",
      `HCL report type ${type} is neither SNP nor TDX`,
      { offset: igvmAt + 8 },
    );
  if (hashType !== 1) {
    throw new EvidenceError(
      "ERR_EVIDENCE_UNSUPPORTED",
      `HCL report-data hash type ${hashType} is not SHA-256`,
      {
        offset: igvmAt + 12,
      },
    );
  }
  const varData = r.take(varSize, "IGVM variable data");
  return {
    raw: bytes,
    reportType,
    hwReport: reportType === "snp" ? hw : hw.subarray(0, TD_REPORT_SIZE),
    varData,
    varDataSha256: new Uint8Array(createHash("sha256").update(varData).digest()),
  };
}

/** The variable data's JSON: the AK as a JWK (`kid: "HCLAkPub"`) and optional `user-data` hex. */
export interface HclVarData {
  akJwk: { kty: string; n?: string; e?: string; [k: string]: unknown };
  userData: Uint8Array | null;
}

/** Parses the HCL variable data JSON. */
export function parseHclVarData(varData: Uint8Array): HclVarData {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(varData).toString("utf8"));
  } catch (cause) {
    throw new EvidenceError("ERR_HCL_VAR_DATA", "HCL variable data is not JSON", { cause });
  }
  const keys = (json as { keys?: unknown })?.keys;
  if (!Array.isArray(keys))
    throw new EvidenceError("ERR_HCL_VAR_DATA", "HCL variable data has no keys array");
  const ak = keys.find(
    (k) => typeof k === "object" && k !== null && (k as { kid?: unknown }).kid === "HCLAkPub",
  );
  if (!ak) throw new EvidenceError("ERR_TPM_AK", "HCL variable data has no HCLAkPub key");
  const ud = (json as { "user-data"?: unknown })["user-data"];
  let userData: Uint8Array | null = null;
  if (typeof ud === "string") {
    if (ud.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(ud)) {
      throw new EvidenceError("ERR_HCL_VAR_DATA", "HCL user-data is not hex");
    }
    userData = new Uint8Array(Buffer.from(ud, "hex"));
  }
  return { akJwk: ak as HclVarData["akJwk"], userData };
}
