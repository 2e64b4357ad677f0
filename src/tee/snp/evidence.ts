import { fromBase64 } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";
import {
  decodeTcb,
  isTurinFamily,
  parseSnpReport,
  SNP_LAYOUT,
  SNP_REPORT_SIZE,
  type SnpReport,
} from "./report.js";

/** A certificate from the evidence's `cert_chain` (sev crate `CertTableEntry`). */
export interface SnpCertEntry {
  /** "ARK" | "ASK" | "VCEK" | "VLEK" | "CRL" | "Empty" | "OTHER:<uuid>". */
  certType: string;
  data: Uint8Array;
}

/** Upstream's `SnpEvidence`: the report plus an optional certificate table. */
export interface SnpEvidence {
  report: SnpReport;
  certChain: SnpCertEntry[] | null;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function bytesField(o: Json, key: string, len: number): Uint8Array {
  const v = o[key];
  if (!Array.isArray(v) || v.length !== len) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      `attestation_report.${key} must be an array of ${len} bytes`,
    );
  }
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const b = v[i];
    if (typeof b !== "number" || !Number.isInteger(b) || b < 0 || b > 255) {
      throw new EvidenceError(
        "ERR_EVIDENCE_MALFORMED",
        `attestation_report.${key}[${i}] is not a byte`,
      );
    }
    out[i] = b;
  }
  return out;
}

function uint(o: Json, key: string, max: bigint): bigint {
  const v = o[key];
  let n: bigint | undefined;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) n = BigInt(v);
  else if (typeof v === "string" && /^[0-9]{1,20}$/.test(v)) n = BigInt(v);
  if (n === undefined || n > max) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      `attestation_report.${key} must be an unsigned integer`,
    );
  }
  return n;
}

function optByte(o: Json, key: string): number | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  return Number(uint(o, key, 255n));
}

function tcbBytes(o: Json, key: string, turin: boolean): Uint8Array {
  const t = o[key];
  if (!isObj(t))
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      `attestation_report.${key} must be an object`,
    );
  const b = (k: string): number => Number(uint(t, k, 255n));
  const out = new Uint8Array(8);
  if (turin) {
    // Turin TCB_VERSION: FMC[0], BOOT_LOADER[1], TEE[2], SNP[3], MICROCODE[7].
    out[0] = t.fmc === null || t.fmc === undefined ? 0 : b("fmc");
    out[1] = b("bootloader");
    out[2] = b("tee");
    out[3] = b("snp");
  } else {
    out[0] = b("bootloader");
    out[1] = b("tee");
    out[6] = b("snp");
  }
  out[7] = b("microcode");
  return out;
}

/**
 * Re-serialises the sev crate's JSON form of an attestation report into the 1184-byte ABI
 * layout, as upstream does before checking the signature. Reserved bytes are zero.
 */
export function snpReportFromJson(json: unknown): Uint8Array {
  if (!isObj(json))
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "attestation_report must be an object");
  const buf = new Uint8Array(SNP_REPORT_SIZE);
  const view = new DataView(buf.buffer);
  const L = SNP_LAYOUT;
  const version = Number(uint(json, "version", 0xffffffffn));
  view.setUint32(L.VERSION.offset, version, true);
  view.setUint32(L.GUEST_SVN.offset, Number(uint(json, "guest_svn", 0xffffffffn)), true);
  view.setBigUint64(L.POLICY.offset, uint(json, "policy", 0xffffffffffffffffn), true);
  buf.set(bytesField(json, "family_id", 16), L.FAMILY_ID.offset);
  buf.set(bytesField(json, "image_id", 16), L.IMAGE_ID.offset);
  view.setUint32(L.VMPL.offset, Number(uint(json, "vmpl", 0xffffffffn)), true);
  view.setUint32(L.SIGNATURE_ALGO.offset, Number(uint(json, "sig_algo", 0xffffffffn)), true);
  const fam = optByte(json, "cpuid_fam_id");
  const turin = version >= 3 && isTurinFamily(fam);
  buf.set(tcbBytes(json, "current_tcb", turin), L.CURRENT_TCB.offset);
  view.setBigUint64(L.PLATFORM_INFO.offset, uint(json, "plat_info", 0xffffffffffffffffn), true);
  view.setUint32(L.KEY_INFO.offset, Number(uint(json, "key_info", 0xffffffffn)), true);
  buf.set(bytesField(json, "report_data", 64), L.REPORT_DATA.offset);
  buf.set(bytesField(json, "measurement", 48), L.MEASUREMENT.offset);
  buf.set(bytesField(json, "host_data", 32), L.HOST_DATA.offset);
  buf.set(bytesField(json, "id_key_digest", 48), L.ID_KEY_DIGEST.offset);
  buf.set(bytesField(json, "author_key_digest", 48), L.AUTHOR_KEY_DIGEST.offset);
  buf.set(bytesField(json, "report_id", 32), L.REPORT_ID.offset);
  buf.set(bytesField(json, "report_id_ma", 32), L.REPORT_ID_MA.offset);
  buf.set(tcbBytes(json, "reported_tcb", turin), L.REPORTED_TCB.offset);
  if (version >= 3) {
    buf[L.CPUID_FAM_ID.offset] = fam ?? 0;
    buf[L.CPUID_MOD_ID.offset] = optByte(json, "cpuid_mod_id") ?? 0;
    buf[L.CPUID_STEP.offset] = optByte(json, "cpuid_step") ?? 0;
  }
  buf.set(bytesField(json, "chip_id", 64), L.CHIP_ID.offset);
  buf.set(tcbBytes(json, "committed_tcb", turin), L.COMMITTED_TCB.offset);
  for (const [key, f] of [
    ["current", L.CURRENT_VERSION],
    ["committed", L.COMMITTED_VERSION],
  ] as const) {
    const v = json[key];
    if (!isObj(v))
      throw new EvidenceError(
        "ERR_EVIDENCE_MALFORMED",
        `attestation_report.${key} must be an object`,
      );
    buf[f.offset] = Number(uint(v, "build", 255n));
    buf[f.offset + 1] = Number(uint(v, "minor", 255n));
    buf[f.offset + 2] = Number(uint(v, "major", 255n));
  }
  buf.set(tcbBytes(json, "launch_tcb", turin), L.LAUNCH_TCB.offset);
  if (version >= 5) {
    for (const [key, f] of [
      ["launch_mit_vector", L.LAUNCH_MIT_VECTOR],
      ["current_mit_vector", L.CURRENT_MIT_VECTOR],
    ] as const) {
      if (json[key] !== undefined && json[key] !== null) {
        view.setBigUint64(f.offset, uint(json, key, 0xffffffffffffffffn), true);
      }
    }
  }
  const sig = json.signature;
  if (!isObj(sig))
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "attestation_report.signature must be an object",
    );
  buf.set(bytesField(sig, "r", 72), L.SIGNATURE_R.offset);
  buf.set(bytesField(sig, "s", 72), L.SIGNATURE_S.offset);
  return buf;
}

function tcbJson(raw: Uint8Array, turin: boolean): Json {
  const t = decodeTcb(raw, turin);
  return { fmc: t.fmc, bootloader: t.bootloader, tee: t.tee, snp: t.snp, microcode: t.microcode };
}

/** The sev crate's JSON form of a report (what an SNP attester sends as `attestation_report`). */
export function snpReportToJson(r: SnpReport): Json {
  const turin = isTurinFamily(r.cpuidFamId);
  const arr = (b: Uint8Array): number[] => Array.from(b);
  const out: Json = {
    version: r.version,
    guest_svn: r.guestSvn,
    policy: Number(r.policy),
    family_id: arr(r.familyId),
    image_id: arr(r.imageId),
    vmpl: r.vmpl,
    sig_algo: r.sigAlgo,
    current_tcb: tcbJson(r.currentTcb.raw, turin),
    plat_info: Number(r.platInfo),
    key_info: r.keyInfo,
    report_data: arr(r.reportData),
    measurement: arr(r.measurement),
    host_data: arr(r.hostData),
    id_key_digest: arr(r.idKeyDigest),
    author_key_digest: arr(r.authorKeyDigest),
    report_id: arr(r.reportId),
    report_id_ma: arr(r.reportIdMa),
    reported_tcb: tcbJson(r.reportedTcb.raw, turin),
    cpuid_fam_id: r.cpuidFamId,
    cpuid_mod_id: r.cpuidModId,
    cpuid_step: r.cpuidStep,
    chip_id: arr(r.chipId),
    committed_tcb: tcbJson(r.committedTcb.raw, turin),
    current: { major: r.current.major, minor: r.current.minor, build: r.current.build },
    committed: { major: r.committed.major, minor: r.committed.minor, build: r.committed.build },
    launch_tcb: tcbJson(r.launchTcb.raw, turin),
    signature: { r: arr(r.signatureR), s: arr(r.signatureS) },
  };
  if (r.version >= 5) {
    out.launch_mit_vector = Number(r.launchMitVector ?? 0n);
    out.current_mit_vector = Number(r.currentMitVector ?? 0n);
  }
  return out;
}

function certType(v: unknown): string {
  if (typeof v === "string") return v;
  if (isObj(v) && typeof v.OTHER === "string") return `OTHER:${v.OTHER}`;
  throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "cert_chain[].cert_type is not a known type");
}

function certData(v: unknown, i: number): Uint8Array {
  if (typeof v === "string") return fromBase64(v, `cert_chain[${i}].data`);
  if (!Array.isArray(v) || v.length > 16384) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `cert_chain[${i}].data must be a byte array`);
  }
  const out = new Uint8Array(v.length);
  v.forEach((b, j) => {
    if (typeof b !== "number" || !Number.isInteger(b) || b < 0 || b > 255) {
      throw new EvidenceError(
        "ERR_EVIDENCE_MALFORMED",
        `cert_chain[${i}].data[${j}] is not a byte`,
      );
    }
    out[j] = b;
  });
  return out;
}

/** Parses upstream's SNP evidence JSON (`{"attestation_report": {...}, "cert_chain": [...]|null}`). */
export function parseSnpEvidence(json: unknown): SnpEvidence {
  if (!isObj(json))
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "SNP evidence must be a JSON object");
  const report = parseSnpReport(snpReportFromJson(json.attestation_report));
  const cc = json.cert_chain;
  if (cc === undefined || cc === null) return { report, certChain: null };
  if (!Array.isArray(cc) || cc.length > 16) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "cert_chain must be an array of at most 16 entries",
    );
  }
  const certChain = cc.map((e, i) => {
    if (!isObj(e))
      throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `cert_chain[${i}] must be an object`);
    return { certType: certType(e.cert_type), data: certData(e.data, i) };
  });
  return { report, certChain };
}
