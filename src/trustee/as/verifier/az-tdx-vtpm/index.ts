import type { Clock } from "../../../../tee/common/certs.js";
import type { DcapQuote } from "../../../../tee/tdx/quote.js";
import { asVerifierError } from "../tdx/adapt.js";
import type { DcapCollateral } from "../tdx/collateral.js";
import type { Verifier, VerifierInput, VerifierResult } from "../types.js";
import { parseAzTdxEvidence, verifyAzTdxEvidence } from "./verify.js";

export { parseAzTdxEvidence, verifyAzTdxEvidence } from "./verify.js";

/**
 * Creates the `az-tdx-vtpm` verifier: DCAP collateral from `collateral` (offline files) or,
 * without it, fetched per TD quote by `collateralFor` (Trustee's collateral cache).
 */
export function createAzTdxVtpmVerifier(
  opts: {
    collateral?: DcapCollateral;
    collateralFor?: (quote: DcapQuote) => Promise<DcapCollateral>;
    clock?: Clock;
  } = {},
): Verifier {
  return {
    tee: "az-tdx-vtpm",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      const evidence = asVerifierError("az-tdx-vtpm", () => parseAzTdxEvidence(input.evidence));
      let collateral = opts.collateral;
      if (collateral === undefined && opts.collateralFor) {
        collateral = await opts.collateralFor(evidence.tdQuote).catch((e: unknown) =>
          asVerifierError("az-tdx-vtpm", () => {
            throw e;
          }),
        );
      }
      const claims = asVerifierError("az-tdx-vtpm", () =>
        verifyAzTdxEvidence(evidence, {
          expectedReportData: input.expectedReportData,
          expectedInitDataHash: input.expectedInitDataDigest,
          collateral,
          clock: input.now ? () => input.now as Date : opts.clock,
        }),
      );
      return [{ teeClass: "cpu", claims }];
    },
  };
}
