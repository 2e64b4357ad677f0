import { parseCcaEvidence, parseCcaToken } from "../../../../tee/cca/index.js";
import { asVerifierError } from "../tdx/adapt.js";
import { type Verifier, VerifierError, type VerifierInput, type VerifierResult } from "../types.js";
import type { CcaReferenceValues, CcaTrustAnchor } from "./stores.js";
import { verifyCcaToken } from "./verify.js";

export {
  type CcaPlatformReference,
  type CcaRealmReference,
  type CcaReferenceValues,
  type CcaTrustAnchor,
  ccaStoresFromDir,
  ccaStoresFromFiles,
  parseCcaReferenceValues,
  parseCcaTrustAnchors,
} from "./stores.js";
export { type CcaVerifyOptions, ccaClaims, findTrustAnchor, verifyCcaToken } from "./verify.js";

/** Options of the CCA verifier (upstream's local `cca-verifier`: `ta-store`, `rv-store`). */
export interface CcaVerifierOptions {
  trustAnchors: readonly CcaTrustAnchor[];
  referenceValues?: CcaReferenceValues;
  allowUnsecuredLifecycle?: boolean;
}

/** Creates the `cca` verifier for the Attestation Service. */
export function createCcaVerifier(opts: CcaVerifierOptions): Verifier {
  return {
    tee: "cca",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      // Upstream: "CCA verifier must provide report data field!"
      if (input.expectedReportData.length === 0) {
        throw new VerifierError(
          "ERR_VERIFIER_REPORT_DATA",
          "cca: no runtime data was given to bind the realm challenge to",
        );
      }
      const claims = asVerifierError("cca", () =>
        verifyCcaToken(parseCcaToken(parseCcaEvidence(input.evidence)), {
          ...opts,
          expectedReportData: input.expectedReportData,
          expectedInitDataHash: input.expectedInitDataDigest,
        }),
      );
      return [{ teeClass: "cpu", claims }];
    },
  };
}
