/**
 * NVIDIA GPU attestation reports: an SPDM 1.1 GET_MEASUREMENTS request followed by its signed
 * MEASUREMENTS response (DMTF DSP0274 §10.11), with NVIDIA's opaque-data TLVs, laid out as
 * upstream Trustee's local NVIDIA verifier reads them (deps/verifier/src/nvidia/spdm_*.rs).
 * Parsing only: the chain, signature and nonce are checked by the verifier.
 */
import { ByteReader, toHex } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";

/** The only SPDM version upstream verifies locally. */
export const SPDM_VERSION_11 = 0x11;
/** Nonce size of GET_MEASUREMENTS (DSP0274 Table 43). */
export const SPDM_NONCE_SIZE = 32;
/** GET_MEASUREMENTS request: version, code, param1, param2, nonce[32], slot (DSP0274 Table 43). */
export const SPDM_REQUEST_SIZE = 37;
/** Hopper signs with ECDSA P-384 over SHA-384: raw r‖s. */
export const HOPPER_SIGNATURE_SIZE = 96;
/** DMTF measurement specification (the only one accepted). */
export const DMTF_MEASUREMENT_SPEC = 1;
/** Largest report accepted (real ones are about 4 KiB). */
export const NVIDIA_REPORT_MAX = 64 * 1024;

/** NVIDIA opaque-data types and the claim name upstream gives each (OpaqueDataType Display). */
export const OPAQUE_TYPES: Readonly<Record<number, string>> = {
  1: "cert_issuer_name",
  2: "cert_authority_key_identifier",
  3: "driver_version",
  4: "gpu_info",
  5: "id_sku",
  6: "vbios_version",
  7: "manufacturer_id",
  8: "tamper_detection",
  9: "smc",
  10: "vpr",
  11: "nvdec0_status",
  12: "measurement_count",
  13: "cpr_info",
  14: "board_id",
  15: "chip_sku",
  16: "chip_sku_mod",
  17: "project",
  18: "project_sku",
  19: "project_sku_mod",
  20: "fwid",
  21: "protected_pcie_status",
  22: "switch_pdi",
  23: "floorswept_ports",
  24: "position_id",
  25: "lock_switch_status",
  32: "gpu_link_conn",
  33: "sys_enable_status",
  34: "opaque_data_version",
  35: "chip_info",
  36: "feature_flag",
};

/** Types whose value upstream decodes as a NUL-trimmed string. */
const STRING_TYPES = new Set([3, 15, 16, 11, 17, 18, 21, 35]);

/** One measurement block (DSP0274 Table 45) with its DMTF measurement (Table 46). */
export interface MeasurementBlock {
  index: number;
  dmtfType: number;
  value: Uint8Array;
}

/** A decoded report: the request, the response fields, and the bytes the signature covers. */
export interface NvidiaReport {
  requestNonce: Uint8Array;
  slotId: number;
  responseNonce: Uint8Array;
  measurements: MeasurementBlock[];
  /** Opaque data as upstream's claim `config` (name → string / number / object / array). */
  opaqueData: Record<string, unknown>;
  signature: Uint8Array;
  /** Request + response up to the signature: what the GPU signed (SPDM 1.1 L1/L2 transcript). */
  signedBytes: Uint8Array;
}

function malformed(why: string, offset?: number): never {
  throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `NVIDIA report: ${why}`, { offset });
}

/** Upstream's VBIOS version: the first half of the bytes reversed, dot-joined, then the middle byte. */
function vbiosVersion(b: Uint8Array): string {
  const half = b.length >> 1;
  if (b.length === 0 || half >= b.length) malformed("vbios_version is empty");
  const parts: string[] = [];
  for (let i = half - 1; i >= 0; i--) parts.push((b[i] as number).toString(16).padStart(2, "0"));
  return `${parts.join(".")}.${(b[half] as number).toString(16).padStart(2, "0")}`;
}

function leU64(b: Uint8Array, what: string): bigint {
  if (b.length > 8) malformed(`${what} is longer than 8 bytes`);
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
  return v;
}

function opaqueValue(type: number, data: Uint8Array): unknown {
  if (STRING_TYPES.has(type)) {
    return new TextDecoder("utf-8", { fatal: false }).decode(data).replace(/\0+$/, "");
  }
  switch (type) {
    case 6:
      return vbiosVersion(data);
    case 12: {
      if (data.length % 4 !== 0) malformed("measurement_count is not a multiple of 4 bytes");
      const out: Record<string, number> = {};
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (let i = 0; i < data.length / 4; i++) out[String(i + 1)] = dv.getUint32(i * 4, true);
      return out;
    }
    case 22: {
      if (data.length % 8 !== 0) malformed("switch_pdi is not a multiple of 8 bytes");
      const out: string[] = [];
      for (let i = 0; i < data.length; i += 8) out.push(toHex(data.subarray(i, i + 8)));
      return out;
    }
    case 34: {
      const v = leU64(data, "opaque_data_version");
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    }
    case 36: {
      const v = leU64(data, "feature_flag");
      return v === 0n ? "SPT" : v === 1n ? "MPT" : v === 2n ? "PPCIE" : "unknown";
    }
    default:
      return toHex(data);
  }
}

/** NVIDIA's opaque-data TLVs (type u16, size u16, data); both versions must be present. */
export function parseOpaqueData(bytes: Uint8Array): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = new ByteReader(bytes, "NVIDIA opaque data");
  // Upstream stops when 4 or fewer bytes remain (`offset + 4 < len`).
  while (r.pos + 4 < bytes.length) {
    const at = r.pos;
    const type = r.u16("opaque data type");
    const name = OPAQUE_TYPES[type];
    if (name === undefined) malformed(`unknown opaque data type ${type}`, at);
    const size = r.u16("opaque data size");
    const data = r.take(size, `opaque data ${name}`);
    if (Object.hasOwn(out, name)) malformed(`duplicated opaque data ${name}`, at);
    out[name] = opaqueValue(type, data);
  }
  if (!Object.hasOwn(out, "vbios_version") || !Object.hasOwn(out, "driver_version")) {
    malformed("both vbios_version and driver_version must be present");
  }
  return out;
}

function parseMeasurementRecord(bytes: Uint8Array, blocks: number): MeasurementBlock[] {
  const r = new ByteReader(bytes, "NVIDIA measurement record");
  const out: MeasurementBlock[] = [];
  for (let i = 0; i < blocks; i++) {
    const index = r.u8("measurement index");
    const spec = r.u8("measurement specification");
    if (spec !== DMTF_MEASUREMENT_SPEC) {
      malformed(`measurement block ${index} is not in the DMTF layout (specification ${spec})`);
    }
    const size = r.u16("measurement size");
    const m = new ByteReader(r.take(size, `measurement block ${index}`), `measurement ${index}`);
    const dmtfType = m.u8("DMTF measurement type");
    const len = m.u16("DMTF measurement size");
    out.push({ index, dmtfType, value: m.take(len, "DMTF measurement value") });
  }
  return out;
}

/** Decodes a report (request + signed response), as upstream's `NvidiaAttestationReport::decode`. */
export function parseNvidiaReport(
  bytes: Uint8Array,
  signatureSize = HOPPER_SIGNATURE_SIZE,
): NvidiaReport {
  if (bytes.length > NVIDIA_REPORT_MAX) {
    throw new EvidenceError(
      "ERR_EVIDENCE_OVERSIZE",
      `NVIDIA report is ${bytes.length} bytes, limit ${NVIDIA_REPORT_MAX}`,
    );
  }
  const r = new ByteReader(bytes, "NVIDIA report");
  const reqVersion = r.u8("request SPDM version");
  if (reqVersion !== SPDM_VERSION_11) {
    throw new EvidenceError(
      "ERR_EVIDENCE_VERSION",
      `SPDM version 0x${reqVersion.toString(16)} is not supported (0x11 is)`,
    );
  }
  r.skip(3, "request code and params");
  const requestNonce = r.take(SPDM_NONCE_SIZE, "request nonce");
  const slotId = r.u8("request slot id");
  const respVersion = r.u8("response SPDM version");
  if (respVersion !== SPDM_VERSION_11) {
    throw new EvidenceError(
      "ERR_EVIDENCE_VERSION",
      `SPDM version 0x${respVersion.toString(16)} is not supported (0x11 is)`,
    );
  }
  r.skip(3, "response code and params");
  const blocks = r.u8("number of blocks");
  const recLen =
    r.u8("record length") | (r.u8("record length") << 8) | (r.u8("record length") << 16);
  const measurements =
    recLen > 0 ? parseMeasurementRecord(r.take(recLen, "measurement record"), blocks) : [];
  const responseNonce = r.take(SPDM_NONCE_SIZE, "response nonce");
  const opaqueLen = r.u16("opaque data length");
  const opaqueData =
    opaqueLen > 0
      ? parseOpaqueData(r.take(opaqueLen, "opaque data"))
      : malformed("no opaque data (fwid, vbios and driver versions)");
  const signedEnd = r.pos;
  const signature = r.take(signatureSize, "signature");
  // Upstream ignores anything after the signature; so do we (it is unsigned and unused).
  return {
    requestNonce,
    slotId,
    responseNonce,
    measurements,
    opaqueData,
    signature,
    signedBytes: bytes.subarray(0, signedEnd),
  };
}
