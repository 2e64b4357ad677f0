/**
 * The `sample` verifier (trustee deps/verifier/src/sample): checks that the report data equals
 * the expected runtime-data digest exactly. There is no signature, so it proves nothing about a
 * TEE; the default resource policy therefore refuses sample tokens.
 *
 * coco-ts extension: evidence carrying the sample launch field (`init_data`) gets the hardware
 * init-data rules: the digest of the init-data the client sent, fitted to the field, must equal
 * it, and a field without init-data is refused (the host may not hide init-data). Evidence
 * without the field (upstream's attester) only has the digest echoed, as upstream does.
 */
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { fitDigest } from "../../../../protocol/initdata/index.js";
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
      if (tee === "sample" && ev.initData !== undefined) {
        // coco-ts launch field: checked as TDX MRCONFIGID / SNP HOST_DATA are.
        checkLaunchField(ev.initData, input.expectedInitDataDigest);
      }
      if (input.expectedInitDataDigest !== undefined) {
        // Upstream echoes the digest of the init-data the client sent as a claim; with a
        // launch field it is also bound, without one it is only echoed (upstream behaviour).
        claims.init_data = Buffer.from(input.expectedInitDataDigest).toString("base64");
      }
      return [{ teeClass: tee === "sample" ? "cpu" : "gpu", claims }];
    },
  };
}

/** The init-data binding of the sample launch field, with the hardware verifiers' error code. */
function checkLaunchField(field: Uint8Array, expected: Uint8Array | undefined): void {
  if (expected === undefined) {
    throw new VerifierError(
      "ERR_VERIFIER_INIT_DATA",
      "sample: evidence carries an init_data launch field but the client sent no init-data",
    );
  }
  if (!constantTimeEqual(fitDigest(expected, field.length), field)) {
    throw new VerifierError(
      "ERR_VERIFIER_INIT_DATA",
      "sample: init_data launch field does not equal the digest of the init-data the client sent",
    );
  }
}
