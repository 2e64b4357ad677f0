import { AsnConvert } from "@peculiar/asn1-schema";
import { CertificateList } from "@peculiar/asn1-x509";
import { parseDerInteger } from "./asn1.js";
import { EvidenceError } from "./errors.js";

/** A parsed X.509 CRL (RFC 5280 §5): what revocation checks need, plus the signed bytes. */
export interface Crl {
  tbs: Uint8Array;
  /** The signature as encoded in the CRL (ECDSA: DER). */
  signature: Uint8Array;
  signatureAlgorithm: string;
  thisUpdate: Date;
  nextUpdate: Date | null;
  /** Revoked serial numbers, lowercase hex without leading zeros. */
  revoked: Set<string>;
  /** The cRLNumber extension (2.5.29.20), when present and small. */
  crlNumber: number | null;
}

/** Lowercase hex serial without leading zeros, the form {@link Crl.revoked} uses. */
export function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, "");
}

const CRL_NUMBER_OID = "2.5.29.20";

/** Parses a DER CRL. */
export function parseCrl(der: Uint8Array, what: string): Crl {
  let cl: CertificateList;
  try {
    cl = AsnConvert.parse(der, CertificateList);
  } catch (cause) {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `${what} is not a DER CRL`, { cause });
  }
  const t = cl.tbsCertList;
  if (!cl.tbsCertListRaw)
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `${what}: signed part not found`);
  const revoked = new Set<string>();
  for (const r of t.revokedCertificates ?? []) {
    revoked.add(normalizeSerial(Buffer.from(r.userCertificate).toString("hex")));
  }
  let crlNumber: number | null = null;
  const ext = t.crlExtensions?.find((e) => e.extnID === CRL_NUMBER_OID);
  if (ext) {
    try {
      crlNumber = parseDerInteger(new Uint8Array(ext.extnValue.buffer), `${what} cRLNumber`);
    } catch {
      crlNumber = null;
    }
  }
  return {
    tbs: new Uint8Array(cl.tbsCertListRaw),
    signature: new Uint8Array(cl.signature),
    signatureAlgorithm: cl.signatureAlgorithm.algorithm,
    thisUpdate: t.thisUpdate.getTime(),
    nextUpdate: t.nextUpdate ? t.nextUpdate.getTime() : null,
    revoked,
    crlNumber,
  };
}
