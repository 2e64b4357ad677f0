import type { Clock } from "../../../../tee/common/certs.js";
import type { ProcessorGeneration, VendorCertificates } from "../snp/vendor.js";
import { asVerifierError } from "../tdx/adapt.js";
import type { Verifier, VerifierInput, VerifierResult } from "../types.js";
import { parseAzSnpEvidence, verifyAzSnpEvidence } from "./verify.js";

export { azSnpClaims, parseAzSnpEvidence, verifyAzSnpEvidence } from "./verify.js";

/** Creates the `az-snp-vtpm` verifier (AMD roots from `vendor`; no network). */
export function createAzSnpVtpmVerifier(opts: {
  vendor: ReadonlyMap<ProcessorGeneration, VendorCertificates>;
  clock?: Clock;
}): Verifier {
  return {
    tee: "az-snp-vtpm",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      const claims = asVerifierError("az-snp-vtpm", () =>
        verifyAzSnpEvidence(parseAzSnpEvidence(input.evidence), {
          vendor: opts.vendor,
          expectedReportData: input.expectedReportData,
          expectedInitDataHash: input.expectedInitDataDigest,
          clock: input.now ? () => input.now as Date : opts.clock,
        }),
      );
      return [{ teeClass: "cpu", claims }];
    },
  };
}
