/**
 * The `sample` attester (guest-components attester/src/sample): no hardware, evidence
 * `{"svn":"1","report_data":"<std base64>"}`. It proves nothing and upstream logs a loud
 * warning when it is selected; so do we.
 */
import { createSampleEvidence } from "../../../../tee/sample/index.js";
import { AaError } from "../../errors.js";
import type { Attester, BindResult } from "../types.js";

/** Creates the sample attester. */
export function createSampleAttester(): Attester {
  return {
    tee: "sample",
    async getEvidence(reportData: Uint8Array): Promise<unknown> {
      try {
        return createSampleEvidence(reportData);
      } catch (err) {
        throw new AaError("ERR_AA_REPORT_DATA", (err as Error).message, { cause: err });
      }
    },
    async bindInitData(): Promise<BindResult> {
      return "unsupported";
    },
  };
}
