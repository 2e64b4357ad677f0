import type { Clock } from "../../../tee/common/certs.js";
import type { DcapQuote } from "../../../tee/tdx/quote.js";
import { asVerifierError } from "./tdx/adapt.js";
import type { DcapCollateral } from "./tdx/collateral.js";
import type { Verifier, VerifierInput, VerifierResult } from "./types.js";

/** Options of the DCAP-quote verifiers (sgx, tdx). */
export interface DcapVerifierOptions {
  /** Operator-supplied DCAP collateral (TCB status); absent = signatures and chain only. */
  collateral?: DcapCollateral;
  /**
   * Collateral fetched for each quote (Intel PCS/PCCS through the collateral cache), used when
   * no static `collateral` is given (config: `dcap_verifier.collateral_service`).
   */
  collateralFor?: (quote: DcapQuote) => Promise<DcapCollateral>;
  clock?: Clock;
}

/** What a DCAP-quote check is given for one evaluation. */
export interface DcapCheckOptions {
  expectedReportData?: Uint8Array;
  expectedInitDataHash?: Uint8Array;
  collateral?: DcapCollateral;
  clock?: Clock;
}

/**
 * A verifier for the Attestation Service over DCAP quotes (offline: no collateral fetch): parses
 * the evidence, checks it, and maps hardware errors to verifier errors. One `cpu` claim set.
 */
export function createDcapVerifier<E>(
  tee: "sgx" | "tdx",
  parse: (evidence: unknown) => E,
  quoteOf: (evidence: E) => DcapQuote,
  check: (evidence: E, opts: DcapCheckOptions) => Record<string, unknown>,
  opts: DcapVerifierOptions,
): Verifier {
  return {
    tee,
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      const evidence = asVerifierError(tee, () => parse(input.evidence));
      let collateral = opts.collateral;
      if (collateral === undefined && opts.collateralFor) {
        const q = quoteOf(evidence);
        collateral = await opts.collateralFor(q).catch((e: unknown) =>
          asVerifierError(tee, () => {
            throw e;
          }),
        );
      }
      const claims = asVerifierError(tee, () =>
        check(evidence, {
          // An empty digest means no runtime data was given (upstream ReportData::NotProvided).
          expectedReportData:
            input.expectedReportData.length > 0 ? input.expectedReportData : undefined,
          expectedInitDataHash: input.expectedInitDataDigest,
          collateral,
          clock: input.now ? () => input.now as Date : opts.clock,
        }),
      );
      return [{ teeClass: "cpu", claims }];
    },
  };
}
