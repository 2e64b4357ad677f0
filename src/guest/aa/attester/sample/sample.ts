/**
 * The `sample` attester (guest-components attester/src/sample): no hardware, evidence
 * `{"svn":"1","report_data":"<std base64>"}`. It proves nothing and upstream logs a loud
 * warning when it is selected; so do we.
 *
 * coco-ts extension: when the sandbox launcher set a launch field (the init-data digest, see
 * `tee/sample/launch-field.ts`), the attester behaves like TDX/SNP for init-data: the evidence
 * carries it as `init_data`, and {@link Attester.bindInitData} compares it with the init-data
 * digest so the AA refuses to start on a mismatch. Without a field it is upstream's attester.
 */
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { fitDigest } from "../../../../protocol/initdata/index.js";
import { createSampleEvidence, toSampleLaunchField } from "../../../../tee/sample/index.js";
import { AaError } from "../../errors.js";
import type { Attester, BindResult } from "../types.js";

/** Options for {@link createSampleAttester}. */
export interface SampleAttesterOptions {
  /** The launch field the sandbox set (read once at AA start); absent = upstream behaviour. */
  launchField?: Uint8Array | undefined;
}

/** Creates the sample attester. */
export function createSampleAttester(opts: SampleAttesterOptions = {}): Attester {
  let field: Uint8Array | undefined;
  try {
    // A private copy: nothing the caller does later changes what this TEE "measured".
    field = opts.launchField === undefined ? undefined : toSampleLaunchField(opts.launchField);
  } catch (err) {
    throw new AaError("ERR_AA_ATTESTER", (err as Error).message, { cause: err });
  }
  return {
    tee: "sample",
    async getEvidence(reportData: Uint8Array): Promise<unknown> {
      try {
        return createSampleEvidence(reportData, undefined, field);
      } catch (err) {
        throw new AaError("ERR_AA_REPORT_DATA", (err as Error).message, { cause: err });
      }
    },
    async bindInitData(digest: Uint8Array): Promise<BindResult> {
      if (field === undefined) return "unsupported";
      // Same rule as TDX/SNP: the digest is fitted (truncated or zero-padded) to the field.
      if (!constantTimeEqual(fitDigest(digest, field.length), field)) {
        throw new AaError(
          "ERR_AA_INITDATA_MISMATCH",
          "init-data digest does not match the sample TEE launch field",
        );
      }
      return "bound";
    },
  };
}
