import { createDcapVerifier, type DcapVerifierOptions } from "../common.js";
import type { Verifier } from "../types.js";
import { parseSgxEvidence, verifySgxQuote } from "./verify.js";

export { parseSgxEvidence, sgxClaims, verifySgxQuote } from "./verify.js";

/** Creates the `sgx` verifier for the Attestation Service (offline: no collateral fetch). */
export function createSgxVerifier(opts: DcapVerifierOptions = {}): Verifier {
  return createDcapVerifier("sgx", parseSgxEvidence, (q) => q, verifySgxQuote, opts);
}
