/**
 * The Arm CCA attester (attester/src/cca): the realm token through configfs-tsm (provider
 * `arm_cca_guest`), challenge zero-padded to 64 bytes, evidence `{"token":[<byte numbers>]}`
 * (a JSON number array, QUIRK kept for Trustee compatibility).
 */
import { fitDigest } from "../../../../protocol/initdata/index.js";
import { AaError } from "../../errors.js";
import { type TsmFs, tsmReport } from "../tsm/report.js";
import type { Attester } from "../types.js";

/** Creates the CCA attester. */
export function createCcaAttester(opts: { tsmRoot?: string; tsmFs?: TsmFs } = {}): Attester {
  return {
    tee: "cca",
    async getEvidence(reportData) {
      if (reportData.length > 64)
        throw new AaError("ERR_AA_REPORT_DATA", "CCA challenge is at most 64 bytes");
      const { outblob } = await tsmReport({
        provider: "arm_cca_guest",
        inblob: fitDigest(reportData, 64),
        ...(opts.tsmRoot ? { root: opts.tsmRoot } : {}),
        ...(opts.tsmFs ? { fs: opts.tsmFs } : {}),
      });
      return { token: [...outblob] };
    },
    async bindInitData() {
      return "unsupported";
    },
  };
}
