import type { Clock } from "../../../../tee/common/certs.js";
import { parseSnpEvidence } from "../../../../tee/snp/evidence.js";
import { asVerifierError } from "../tdx/adapt.js";
import type { Verifier, VerifierInput, VerifierResult } from "../types.js";
import type { ProcessorGeneration, VendorCertificates } from "./vendor.js";
import { type VcekSource, verifySnpEvidence } from "./verify.js";

export { createOfflineVcekSource, type ReadFile, snpVendorFromDir, tcbPrefix } from "./store.js";
export {
  loadVendorCertificates,
  PINNED_ARK_SHA256,
  type ProcessorGeneration,
  processorGeneration,
  type VendorCertificates,
} from "./vendor.js";
export { snpClaims, type VcekSource, verifySnpEvidence } from "./verify.js";

/** Options of the SNP verifier. */
export interface SnpVerifierOptions {
  /** AMD ARK/ASK/ASVK per generation (see {@link snpVendorFromDir}). */
  vendor: ReadonlyMap<ProcessorGeneration, VendorCertificates>;
  /** Where to find a VCEK when evidence has no cert_chain (offline store); none = refuse. */
  vcekSource?: VcekSource;
  clock?: Clock;
}

/** Creates the `snp` verifier for the Attestation Service. */
export function createSnpVerifier(opts: SnpVerifierOptions): Verifier {
  return {
    tee: "snp",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      const claims = asVerifierError("snp", () =>
        verifySnpEvidence(parseSnpEvidence(input.evidence), {
          vendor: opts.vendor,
          vcekSource: opts.vcekSource,
          expectedReportData: input.expectedReportData,
          expectedInitDataHash: input.expectedInitDataDigest,
          clock: input.now ? () => input.now as Date : opts.clock,
        }),
      );
      return [{ teeClass: "cpu", claims: { ...claims } }];
    },
  };
}
