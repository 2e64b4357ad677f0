import { createDcapVerifier, type DcapVerifierOptions } from "../common.js";
import type { Verifier } from "../types.js";
import { parseTdxEvidence, verifyTdxEvidence } from "./verify.js";

export { asVerifierError } from "./adapt.js";
export type { DcapCollateral } from "./collateral.js";
export { intelRoot, verifyDcapSignatures, verifyPckChain } from "./dcap.js";
export { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from "./intel-root.js";
export { parseTdxEvidence, verifyTdxEvidence } from "./verify.js";

/** Options of the TDX verifier. */
export type TdxVerifierOptions = DcapVerifierOptions;

/** Creates the `tdx` verifier for the Attestation Service (offline: no collateral fetch). */
export function createTdxVerifier(opts: TdxVerifierOptions = {}): Verifier {
  return createDcapVerifier("tdx", parseTdxEvidence, (e) => e.quote, verifyTdxEvidence, opts);
}
