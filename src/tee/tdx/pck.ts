import { x509 } from "../../crypto/x509.js";
import {
  parseDerBoolean,
  parseDerEnumerated,
  parseDerInteger,
  parseDerOctetString,
  parseSgxEntries,
  type SgxExtensionMap,
} from "../common/asn1.js";
import { EvidenceError } from "../common/errors.js";

/** The SGX extension of PCK certificates ("SGX PCK Certificate and CRL Profile" §1.5). */
export const SGX_EXT_OID = "1.2.840.113741.1.13.1";
const O = {
  PPID: `${SGX_EXT_OID}.1`,
  TCB: `${SGX_EXT_OID}.2`,
  PCESVN: `${SGX_EXT_OID}.2.17`,
  CPUSVN: `${SGX_EXT_OID}.2.18`,
  PCEID: `${SGX_EXT_OID}.3`,
  FMSPC: `${SGX_EXT_OID}.4`,
  SGX_TYPE: `${SGX_EXT_OID}.5`,
  PLATFORM_INSTANCE_ID: `${SGX_EXT_OID}.6`,
  CONFIGURATION: `${SGX_EXT_OID}.7`,
  DYNAMIC_PLATFORM: `${SGX_EXT_OID}.7.1`,
  CACHED_KEYS: `${SGX_EXT_OID}.7.2`,
  SMT_ENABLED: `${SGX_EXT_OID}.7.3`,
} as const;

/** Platform facts from a PCK leaf certificate, as upstream's `PlatformInfo`. */
export interface PlatformInfo {
  fmspc: Uint8Array;
  pceid: Uint8Array;
  /** The 16 SGX TCB component SVNs. */
  tcbComponents: number[];
  pcesvn: number;
  cpusvn: Uint8Array;
  /** 0 = Standard, 1 = Scalable, 2 = ScalableWithIntegrity. */
  sgxType: number;
  /** Present only for certificates issued by the PCK Platform CA (byte-reversed, as upstream). */
  platformInstanceId: Uint8Array | null;
  dynamicPlatform: boolean | null;
  cachedKeys: boolean | null;
  smtEnabled: boolean | null;
}

function need(m: SgxExtensionMap, oid: string, name: string): Uint8Array {
  const v = m.get(oid);
  if (!v) throw new EvidenceError("ERR_CERT_EXTENSION", `PCK SGX extension lacks ${name} (${oid})`);
  return v;
}

function octets(m: SgxExtensionMap, oid: string, name: string, len: number): Uint8Array {
  const v = parseDerOctetString(need(m, oid, name), `PCK ${name}`);
  if (v.length !== len) {
    throw new EvidenceError(
      "ERR_CERT_EXTENSION",
      `PCK ${name} is ${v.length} bytes, expected ${len}`,
    );
  }
  return v;
}

/** Reads the SGX extension of a PCK leaf certificate (DER). */
export function parsePlatformInfo(leafDer: Uint8Array): PlatformInfo {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(leafDer);
    // @peculiar/x509 decodes extensions lazily, on first access: force it here so a
    // malformed extension is a parse error, not an uncoded asn1-schema exception later.
    void cert.extensions;
  } catch (cause) {
    throw new EvidenceError("ERR_CERT_PARSE", "PCK leaf certificate cannot be parsed", { cause });
  }
  const ext = cert.getExtension(SGX_EXT_OID);
  if (!ext)
    throw new EvidenceError("ERR_CERT_EXTENSION", "PCK leaf certificate has no SGX extension");
  const top = parseSgxEntries(new Uint8Array(ext.value), "PCK SGX extension");
  const tcb = parseSgxEntries(need(top, O.TCB, "TCB"), "PCK TCB");
  const tcbComponents: number[] = [];
  for (let i = 1; i <= 16; i++) {
    tcbComponents.push(
      parseDerInteger(need(tcb, `${O.TCB}.${i}`, `TCB comp${i}`), `PCK TCB comp${i}`),
    );
  }
  const cfgDer = top.get(O.CONFIGURATION);
  const cfg = cfgDer ? parseSgxEntries(cfgDer, "PCK configuration") : null;
  const flag = (oid: string, name: string): boolean | null => {
    const v = cfg?.get(oid);
    return v ? parseDerBoolean(v, `PCK ${name}`) : null;
  };
  const piid = top.get(O.PLATFORM_INSTANCE_ID);
  return {
    fmspc: octets(top, O.FMSPC, "FMSPC", 6),
    pceid: octets(top, O.PCEID, "PCE-ID", 2),
    tcbComponents,
    pcesvn: parseDerInteger(need(tcb, O.PCESVN, "PCESVN"), "PCK PCESVN"),
    cpusvn: octets(tcb, O.CPUSVN, "CPUSVN", 16),
    sgxType: parseDerEnumerated(need(top, O.SGX_TYPE, "SGX type"), "PCK SGX type"),
    // Upstream reads the 16-byte instance ID as a little-endian u128 and prints it big-endian,
    // i.e. byte-reversed; we reproduce that so the claim matches.
    platformInstanceId: piid
      ? parseDerOctetString(piid, "PCK platform instance ID").slice().reverse()
      : null,
    dynamicPlatform: flag(O.DYNAMIC_PLATFORM, "dynamic platform"),
    cachedKeys: flag(O.CACHED_KEYS, "cached keys"),
    smtEnabled: flag(O.SMT_ENABLED, "SMT enabled"),
  };
}
