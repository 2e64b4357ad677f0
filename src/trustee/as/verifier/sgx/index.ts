import type { Clock } from "../../../../tee/common/certs.js";
import { asVerifierError } from "../tdx/adapt.js";
import type { DcapCollateral } from "../tdx/collateral.js";
import type { Verifier, VerifierInput, VerifierResult } from "../types.js";
import { parseSgxEvidence, verifySgxQuote } from "./verify.js";

export { parseSgxEvidence, sgxClaims, verifySgxQuote } from "./verify.js";

/** Creates the `sgx` verifier for the Attestation Service (offline: no collateral fetch). */
export function createSgxVerifier(
  opts: { collateral?: DcapCollateral; clock?: Clock } = {},
): Verifier {
  return {
    tee: "sgx",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      const claims = asVerifierError("sgx", () =>
        verifySgxQuote(parseSgxEvidence(input.evidence), {
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
