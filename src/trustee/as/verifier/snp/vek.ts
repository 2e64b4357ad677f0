import type { X509Certificate } from "node:crypto";
import { x509 } from "../../../../crypto/x509.js";
import { parseDerInteger, parseDerOctetString } from "../../../../tee/common/asn1.js";
import { EvidenceError } from "../../../../tee/common/errors.js";

/**
 * VCEK/VLEK extension OIDs, "Versioned Chip Endorsement Key (VCEK) Certificate and KDS
 * Interface Specification" Table 8.
 */
export const VEK_OID = {
  BL_SPL: "1.3.6.1.4.1.3704.1.3.1",
  TEE_SPL: "1.3.6.1.4.1.3704.1.3.2",
  SNP_SPL: "1.3.6.1.4.1.3704.1.3.3",
  UCODE_SPL: "1.3.6.1.4.1.3704.1.3.8",
  FMC_SPL: "1.3.6.1.4.1.3704.1.3.9",
  HW_ID: "1.3.6.1.4.1.3704.1.4",
} as const;

/** The TCB a VCEK/VLEK was issued for, and the chip it names (VCEK only). */
export interface VekTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc: number | null;
  hwId: Uint8Array | null;
}

const vekCache = new WeakMap<X509Certificate, VekTcb>();

function extValue(cert: x509.X509Certificate, oid: string): Uint8Array | null {
  const ext = cert.getExtension(oid);
  return ext ? new Uint8Array(ext.value) : null;
}

/**
 * Reads the TCB extensions of a VCEK/VLEK. The hardware ID appears either as 64 raw bytes
 * (legacy KDS certificates) or as a DER OCTET STRING, and both are accepted as upstream does.
 */
export function readVekTcb(vek: X509Certificate): VekTcb {
  const hit = vekCache.get(vek);
  if (hit) return hit;
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(vek.raw));
    // Extensions are decoded lazily by @peculiar/x509; decode them here so a malformed one
    // is ERR_CERT_PARSE rather than an uncoded exception from getExtension().
    void cert.extensions;
  } catch (cause) {
    throw new EvidenceError("ERR_CERT_PARSE", "VEK certificate cannot be parsed", { cause });
  }
  const int = (oid: string, name: string, required: boolean): number | null => {
    const v = extValue(cert, oid);
    if (!v) {
      if (!required) return null;
      throw new EvidenceError(
        "ERR_CERT_EXTENSION",
        `VEK certificate lacks the ${name} extension (${oid})`,
      );
    }
    return parseDerInteger(v, `VEK ${name} extension`);
  };
  let hwId: Uint8Array | null = null;
  const hw = extValue(cert, VEK_OID.HW_ID);
  if (hw) {
    hwId = hw.length === 64 || hw.length === 8 ? hw : parseDerOctetString(hw, "VEK hwID extension");
    // Turin VCEKs name the chip by the first 8 bytes of CHIP_ID; earlier parts by all 64.
    if (hwId.length !== 64 && hwId.length !== 8) {
      throw new EvidenceError(
        "ERR_CERT_EXTENSION",
        `VEK hwID extension is ${hwId.length} bytes, expected 64 or 8`,
      );
    }
  }
  const out: VekTcb = {
    bootloader: int(VEK_OID.BL_SPL, "blSPL", true) ?? 0,
    tee: int(VEK_OID.TEE_SPL, "teeSPL", true) ?? 0,
    snp: int(VEK_OID.SNP_SPL, "snpSPL", true) ?? 0,
    microcode: int(VEK_OID.UCODE_SPL, "ucodeSPL", true) ?? 0,
    fmc: int(VEK_OID.FMC_SPL, "fmcSPL", false),
    hwId,
  };
  vekCache.set(vek, out);
  return out;
}
