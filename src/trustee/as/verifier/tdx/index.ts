import type { Clock } from "../../../../tee/common/certs.js";
import type { Verifier, VerifierInput, VerifierResult } from "../types.js";
import { asVerifierError } from "./adapt.js";
import type { DcapCollateral } from "./collateral.js";
import { parseTdxEvidence, verifyTdxEvidence } from "./verify.js";

export { asVerifierError } from "./adapt.js";
export type { DcapCollateral } from "./collateral.js";
export { intelRoot, verifyDcapSignatures, verifyPckChain } from "./dcap.js";
export { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from "./intel-root.js";
export { parseTdxEvidence, verifyTdxEvidence } from "./verify.js";

/** Options of the TDX verifier. */
export interface TdxVerifierOptions {
  /** Operator-supplied DCAP collateral (TCB status); absent = signatures and chain only. */
  collateral?: DcapCollateral;
  clock?: Clock;
}

/** Creates the `tdx` verifier for the Attestation Service (offline: no collateral fetch). */
export function createTdxVerifier(opts: TdxVerifierOptions = {}): Verifier {
  return {
    tee: "tdx",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      const claims = asVerifierError("tdx", () =>
        verifyTdxEvidence(parseTdxEvidence(input.evidence), {
          // An empty digest means no runtime data was given (upstream ReportData::NotProvided).
          expectedReportData:
            input.expectedReportData.length > 0 ? input.expectedReportData : undefined,
          expectedInitDataHash: input.expectedInitDataDigest,
          collateral: opts.collateral,
          clock: input.now ? () => input.now as Date : opts.clock,
        }),
      );
      return [{ teeClass: "cpu", claims }];
    },
  };
}
