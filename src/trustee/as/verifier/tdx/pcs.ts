/**
 * Intel PCS v4 / PCCS collateral for one quote: TCB Info and QE Identity (with their issuer
 * chains from the response headers), the PCK CRL of the quote's PCK CA, and the Root CA CRL.
 * Shared by `coco attest collateral fetch` (writes files) and Trustee's `dcap_verifier`
 * `collateral_service` (through the collateral cache). Nothing here is trusted until the
 * verifier checks it (signatures, chains to the pinned Intel root, CRLs).
 */
import type { X509Certificate } from "node:crypto";
import type { Clock } from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import type { DcapQuote } from "../../../../tee/tdx/quote.js";
import type { DcapCollateral } from "./collateral.js";
import { verifyDcapSignatures } from "./dcap.js";

/** Intel's Root CA CRL, the CRL distribution point of the pinned root. */
export const INTEL_ROOT_CA_CRL_URL =
  "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";
/** Intel PCS base URL (upstream's default `collateral_service`). */
export const INTEL_PCS_URL = "https://api.trustedservices.intel.com";

/** An HTTP GET returning the body and the response headers (lowercase names). */
export type HttpGetWithHeaders = (
  url: string,
) => Promise<{ body: Uint8Array; headers: Record<string, string> }>;

/** The URLs of the collateral a quote needs. */
export function pcsUrls(
  quote: DcapQuote,
  tee: "tdx" | "sgx",
  pcsUrl: string,
  rootCrlUrl: string,
  clock: Clock,
  root?: X509Certificate,
): { tcb: string; qe: string; pckCrl: string; rootCrl: string; ca: "platform" | "processor" } {
  const { pck } = verifyDcapSignatures(quote, clock, root);
  const base = pcsUrl.replace(/\/+$/, "");
  const fmspc = Buffer.from(pck.platform.fmspc).toString("hex").toUpperCase();
  const ca = pck.isPlatformCa ? "platform" : "processor";
  return {
    tcb: `${base}/${tee}/certification/v4/tcb?fmspc=${fmspc}`,
    qe: `${base}/${tee}/certification/v4/qe/identity`,
    pckCrl: `${base}/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`,
    rootCrl: rootCrlUrl,
    ca,
  };
}

function chainHeader(h: Record<string, string>, name: string): string {
  // PCS v4 names the TCB header TCB-Info-Issuer-Chain; v3 and some PCCS SGX-TCB-Info-Issuer-Chain.
  const v = h[name] ?? h[`sgx-${name}`];
  if (!v)
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `PCS response lacks the ${name} header`);
  try {
    return decodeURIComponent(v);
  } catch (cause) {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `PCS ${name} header is not URL-encoded PEM`, {
      cause,
    });
  }
}

/** Fetches the collateral for `quote` into a {@link DcapCollateral} (not yet verified). */
export async function fetchDcapCollateral(
  quote: DcapQuote,
  tee: "tdx" | "sgx",
  get: HttpGetWithHeaders,
  o: { pcsUrl?: string; rootCrlUrl?: string; clock: Clock; root?: X509Certificate },
): Promise<DcapCollateral & { ca: "platform" | "processor" }> {
  const u = pcsUrls(
    quote,
    tee,
    o.pcsUrl ?? INTEL_PCS_URL,
    o.rootCrlUrl ?? INTEL_ROOT_CA_CRL_URL,
    o.clock,
    o.root,
  );
  const [tcb, qe, crl, rootCrl] = await Promise.all([
    get(u.tcb),
    get(u.qe),
    get(u.pckCrl),
    get(u.rootCrl),
  ]);
  const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8");
  return {
    tcbInfoJson: text(tcb.body),
    tcbInfoIssuerChainPem: chainHeader(tcb.headers, "tcb-info-issuer-chain"),
    qeIdentityJson: text(qe.body),
    qeIdentityIssuerChainPem: chainHeader(qe.headers, "sgx-enclave-identity-issuer-chain"),
    pckCrlDer: crl.body,
    rootCaCrlDer: rootCrl.body,
    ca: u.ca,
    ...(o.root ? { root: o.root } : {}),
  };
}
