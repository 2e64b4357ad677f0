import type { Clock } from "../../../../tee/common/certs.js";
import { parseSnpEvidence } from "../../../../tee/snp/evidence.js";
import type { SnpReport } from "../../../../tee/snp/report.js";
import { asVerifierError } from "../tdx/adapt.js";
import type { Verifier, VerifierInput, VerifierResult } from "../types.js";
import {
  type ProcessorGeneration,
  processorGeneration,
  type VendorCertificates,
} from "./vendor.js";
import { type VcekSource, verifySnpEvidence } from "./verify.js";

export { SHIPPED_SIGNER_SHA256, shippedAmdBundle, shippedAmdVendor } from "./amd-roots.js";
export { AMD_KDS_URL, createKdsVcekFetcher, type HttpGet, kdsVcekUrl } from "./kds.js";
export {
  createOfflineVcekSource,
  type ReadFile,
  snpVendorFromDir,
  snpVendorOrShipped,
  tcbPrefix,
} from "./store.js";
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
  /** Only when configured: fetch a VCEK the offline source lacks (see {@link createKdsVcekFetcher}). */
  kdsFetch?: (report: SnpReport, gen: ProcessorGeneration) => Promise<Uint8Array>;
  clock?: Clock;
}

/** Creates the `snp` verifier for the Attestation Service. */
export function createSnpVerifier(opts: SnpVerifierOptions): Verifier {
  return {
    tee: "snp",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      const evidence = asVerifierError("snp", () => parseSnpEvidence(input.evidence));
      let vcekSource = opts.vcekSource;
      // KDS only for reports the verifier would otherwise accept (v3+, no chain, not in the store).
      if (
        !evidence.certChain &&
        opts.kdsFetch &&
        evidence.report.version >= 3 &&
        !vcekSource?.(evidence.report, generationOf(evidence.report))
      ) {
        const gen = generationOf(evidence.report);
        const fetched = await opts.kdsFetch(evidence.report, gen).catch((e: unknown) => {
          throw asVerifierErrorOf("snp", e);
        });
        vcekSource = () => fetched;
      }
      const claims = asVerifierError("snp", () =>
        verifySnpEvidence(evidence, {
          vendor: opts.vendor,
          vcekSource,
          // An empty digest means no runtime data was given (upstream ReportData::NotProvided).
          expectedReportData:
            input.expectedReportData.length > 0 ? input.expectedReportData : undefined,
          expectedInitDataHash: input.expectedInitDataDigest,
          clock: input.now ? () => input.now as Date : opts.clock,
        }),
      );
      return [{ teeClass: "cpu", claims: { ...claims } }];
    },
  };
}

function generationOf(report: SnpReport): ProcessorGeneration {
  return asVerifierError("snp", () => processorGeneration(report));
}

function asVerifierErrorOf(tee: string, e: unknown): unknown {
  try {
    asVerifierError(tee, () => {
      throw e;
    });
  } catch (mapped) {
    return mapped;
  }
  return e;
}
