/**
 * The `sample` verifier (trustee deps/verifier/src/sample): checks only that the report data
 * equals the expected runtime-data digest exactly. There is no signature, so it proves
 * nothing about a TEE; the default resource policy therefore refuses sample tokens.
 */
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { parseSampleEvidence } from "../../../../tee/sample/evidence.js";
import { type Verifier, VerifierError, type VerifierInput, type VerifierResult } from "../types.js";

/** Creates the sample verifier (for `sample`, or `sampledevice` with class `gpu`). */
export function createSampleVerifier(tee: "sample" | "sampledevice" = "sample"): Verifier {
  return {
    tee,
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      let ev: ReturnType<typeof parseSampleEvidence>;
      try {
        ev = parseSampleEvidence(input.evidence);
      } catch (err) {
        throw new VerifierError("ERR_VERIFIER_EVIDENCE", (err as Error).message, { cause: err });
      }
      if (!constantTimeEqual(ev.reportData, input.expectedReportData)) {
        throw new VerifierError(
          "ERR_VERIFIER_REPORT_DATA",
          `${tee}: report_data does not equal the digest of the runtime data (nonce and tee-pubkey)`,
        );
      }
      const claims: Record<string, unknown> =
        tee === "sample"
          ? {
              svn: ev.svn,
              report_data: ev.reportDataBase64,
              launch_digest: "abcde",
              platform_version: { major: 1, minor: 4 },
              debug: false,
            }
          : { svn: ev.svn, report_data: ev.reportDataBase64 };
      if (input.expectedInitDataDigest !== undefined) {
        // The sample TEE cannot bind init-data; upstream echoes its digest as a claim.
        claims.init_data = Buffer.from(input.expectedInitDataDigest).toString("base64");
      }
      return [{ teeClass: tee === "sample" ? "cpu" : "gpu", claims }];
    },
  };
}
