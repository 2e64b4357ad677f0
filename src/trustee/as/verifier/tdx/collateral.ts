import { EvidenceError } from "../../../../tee/common/errors.js";
import type { DcapQuote } from "../../../../tee/tdx/quote.js";
import type { PckChain } from "./dcap.js";

/**
 * Operator-supplied DCAP collateral (Intel PCS v4 shapes): TCB Info v3 and QE Identity v2 JSON
 * with their issuer chains, the PCK CRL and the Root CA CRL.
 */
export interface DcapCollateral {
  tcbInfoJson: string;
  tcbInfoIssuerChainPem: string;
  qeIdentityJson: string;
  qeIdentityIssuerChainPem: string;
  pckCrlDer?: Uint8Array;
  rootCaCrlDer?: Uint8Array;
}

/**
 * TCB status claims from collateral. Not implemented yet: asking for it fails loudly rather
 * than returning a status we did not compute.
 */
export function tcbClaims(
  _q: DcapQuote,
  _pck: PckChain,
  _c: DcapCollateral,
  _now: Date,
): Record<string, unknown> {
  throw new EvidenceError(
    "ERR_NOT_IMPLEMENTED",
    "DCAP TCB status from collateral (TCB Info / QE Identity / CRLs) is not implemented; verify without --collateral",
  );
}
