import type { Clock } from "../../../../tee/common/certs.js";
import { asVerifierError } from "../tdx/adapt.js";
import type { DcapCollateral } from "../tdx/collateral.js";
import type { Verifier, VerifierInput, VerifierResult } from "../types.js";
import { parseAzTdxEvidence, verifyAzTdxEvidence } from "./verify.js";

export { parseAzTdxEvidence, verifyAzTdxEvidence } from "./verify.js";

/** Creates the `az-tdx-vtpm` verifier (offline DCAP; no collateral fetch). */
export function createAzTdxVtpmVerifier(
  opts: { collateral?: DcapCollateral; clock?: Clock } = {},
): Verifier {
  return {
    tee: "az-tdx-vtpm",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      const claims = asVerifierError("az-tdx-vtpm", () =>
        verifyAzTdxEvidence(parseAzTdxEvidence(input.evidence), {
          expectedReportData: input.expectedReportData,
          expectedInitDataHash: input.expectedInitDataDigest,
          collateral: opts.collateral,
          clock: input.now ? () => input.now as Date : opts.clock,
        }),
      );
      return [{ teeClass: "cpu", claims }];
    },
  };
}
