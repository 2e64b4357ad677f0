/**
 * How long a piece of fetched collateral stays fresh, from its own contents: a certificate or
 * chain until its earliest `notAfter`, a CRL until `nextUpdate`, Intel TCB Info / QE Identity
 * until their `nextUpdate`; anything else for a default period.
 */
import { X509Certificate } from "node:crypto";
import { x509 } from "../../crypto/x509.js";

/** Default freshness of collateral whose contents state no expiry. */
export const DEFAULT_COLLATERAL_TTL_MS = 24 * 3600_000;

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** The instant (ms) `body` stops being fresh, or `fetchedAt + DEFAULT_COLLATERAL_TTL_MS`. */
export function collateralExpiry(body: Uint8Array, fetchedAt: number): number {
  const fallback = fetchedAt + DEFAULT_COLLATERAL_TTL_MS;
  const text = Buffer.from(body.subarray(0, 64 * 1024)).toString("latin1");
  // Intel PCS JSON (TCB Info v3, QE Identity v2).
  if (text.startsWith("{")) {
    try {
      const j = JSON.parse(Buffer.from(body).toString("utf8")) as Record<
        string,
        { nextUpdate?: unknown }
      >;
      const next = (j.tcbInfo ?? j.enclaveIdentity)?.nextUpdate;
      const t = typeof next === "string" ? Date.parse(next) : Number.NaN;
      return Number.isFinite(t) ? t : fallback;
    } catch {
      return fallback;
    }
  }
  // PEM chains (KDS cert_chain): the earliest notAfter.
  const blocks = pemBlocks(text);
  if (blocks.length > 0) {
    try {
      return Math.min(...blocks.map((b) => Date.parse(new X509Certificate(b).validTo)));
    } catch {
      return fallback;
    }
  }
  // DER: a certificate (VCEK/VLEK) or a CRL.
  try {
    return Date.parse(new X509Certificate(Buffer.from(body)).validTo);
  } catch {
    // not a certificate
  }
  try {
    const crl = new x509.X509Crl(body);
    return crl.nextUpdate ? crl.nextUpdate.getTime() : fallback;
  } catch {
    return fallback;
  }
}
