import { parseTpmEvidence } from "../../../../tee/tpm/index.js";
import { asVerifierError } from "../tdx/adapt.js";
import type { Verifier, VerifierInput, VerifierResult } from "../types.js";
import { verifyTpmEvidence } from "./verify.js";

export { TPM_NONCE_SIZE, type TpmVerifyOptions, verifyTpmEvidence } from "./verify.js";

/** Creates the `tpm` verifier (class `cpu`); the AK is trusted by policy (`trusted_aks`). */
export function createTpmVerifier(): Verifier {
  return {
    tee: "tpm",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      const claims = asVerifierError("tpm", () =>
        verifyTpmEvidence(parseTpmEvidence(input.evidence), {
          // An empty digest: no runtime data given (upstream ReportData::NotProvided skips it).
          expectedReportData:
            input.expectedReportData.length > 0 ? input.expectedReportData : undefined,
          expectedInitDataHash: input.expectedInitDataDigest,
        }),
      );
      return [{ teeClass: "cpu", claims }];
    },
  };
}
