/**
 * Mutation fuzzing of the Azure vTPM evidence parsers: the HCL report (header, hardware report,
 * IGVM request data and its variable-data length), the HCL variable data JSON and the TPM2
 * quote message (TPMS_ATTEST with TPM2B size prefixes), seeded with
 * ../shared/fixtures/evidence/az-snp-vtpm/. Property: a value or an `EvidenceError` with a code.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate } from "../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { EvidenceError } from "../common/errors.js";
import { HCL_HEADER_SIZE, HCL_HW_REPORT_SIZE, parseHclReport, parseHclVarData } from "./hcl.js";
import { parseTpmQuoteMessage } from "./tpm-quote.js";

const HCL = "fixtures/evidence/az-snp-vtpm/hcl-report.bin";
const QUOTE = "fixtures/evidence/az-snp-vtpm/tpm-quote-v1.json";
const IGVM = HCL_HEADER_SIZE + HCL_HW_REPORT_SIZE;

describe("Azure vTPM evidence fuzzing", { skip: sharedSkip(HCL) || sharedSkip(QUOTE) }, () => {
  test("mutated HCL reports parse or throw a coded EvidenceError", async (t) => {
    const hcl = new Uint8Array(readFileSync(sharedPath(HCL)));
    const stats = await fuzz({
      name: "hcl-report",
      seed: 0xa2,
      iterations: 5000,
      errorClass: EvidenceError,
      gen: (rng) =>
        mutate(rng, hcl, {
          lengthOffsets: [8, IGVM, IGVM + 8, IGVM + 12, IGVM + 16],
          boundaries: [4, HCL_HEADER_SIZE, IGVM, IGVM + 20],
        }),
      target: (b) => {
        const r = parseHclReport(b);
        parseHclVarData(r.varData);
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });

  test("mutated TPM quote messages parse or throw a coded EvidenceError", async (t) => {
    const q = JSON.parse(readFileSync(sharedPath(QUOTE), "utf8")) as { message: string };
    const msg = new Uint8Array(Buffer.from(q.message, "hex"));
    parseTpmQuoteMessage(msg);
    const stats = await fuzz({
      name: "tpm-quote",
      seed: 0xa3,
      iterations: 5000,
      errorClass: EvidenceError,
      // TPM2B sizes are big-endian u16 at the qualified-signer name (6), extra data and the
      // PCR selection count.
      gen: (rng) =>
        mutate(rng, msg, {
          lengthOffsets: [4, 6, 8, 40, 42, 72, 74, 90],
          boundaries: [4, 6, 8, 40, 72, 90, msg.length - 34],
        }),
      target: (b) => parseTpmQuoteMessage(b),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });
});
