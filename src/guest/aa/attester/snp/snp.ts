/**
 * The SEV-SNP attester through configfs-tsm (provider `sev_guest`, privlevel 0). Upstream uses
 * the /dev/sev-guest ioctl and serializes the report with the `sev` crate's serde shape; we
 * obtain the same raw report through configfs-tsm and turn it into that shape with the
 * evidence helper's parser when available. Until then this attester fails loudly.
 */

import { fitDigest } from "../../../../protocol/initdata/index.js";
import { AaError } from "../../errors.js";
import { type TsmFs, tsmReport } from "../tsm/report.js";
import type { Attester } from "../types.js";

/** Converts a raw SNP report (+ certificate table) into upstream's evidence JSON. */
export type SnpEvidenceShaper = (report: Uint8Array, certs: Uint8Array | undefined) => unknown;

/** Creates the SNP attester; without a `shape` function evidence production fails loudly. */
export function createSnpAttester(
  opts: { tsmRoot?: string; tsmFs?: TsmFs; shape?: SnpEvidenceShaper } = {},
): Attester {
  return {
    tee: "snp",
    async getEvidence(reportData) {
      if (reportData.length > 64)
        throw new AaError("ERR_AA_REPORT_DATA", "SNP report data is at most 64 bytes");
      const { outblob, auxblob } = await tsmReport({
        provider: "sev_guest",
        inblob: fitDigest(reportData, 64),
        privlevel: 0,
        readAuxblob: true,
        ...(opts.tsmRoot ? { root: opts.tsmRoot } : {}),
        ...(opts.tsmFs ? { fs: opts.tsmFs } : {}),
      });
      if (!opts.shape) {
        throw new AaError(
          "ERR_AA_UNSUPPORTED",
          "SNP evidence serialization (sev crate serde shape) is not implemented in coco-ts yet",
        );
      }
      return opts.shape(outblob, auxblob);
    },
    async bindInitData() {
      // HOST_DATA is only in the report; comparing it needs the report parser.
      throw new AaError(
        "ERR_AA_UNSUPPORTED",
        "SNP init-data binding (HOST_DATA comparison) is not implemented in coco-ts yet",
      );
    },
  };
}
