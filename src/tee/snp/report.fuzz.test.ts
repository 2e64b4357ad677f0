/**
 * Mutation fuzzing of the SEV-SNP report parser and the SNP evidence JSON parser, seeded with
 * the real reports under ../shared/fixtures/evidence/snp/. Property: a value or an
 * `EvidenceError` with a code, within the hang bound.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate, mutateJson } from "../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { EvidenceError } from "../common/errors.js";
import { parseSnpEvidence, snpReportToJson } from "./evidence.js";
import { parseSnpReport, SNP_LAYOUT } from "./report.js";

const REPORT = "fixtures/evidence/snp/test-report.bin";
const VLEK = "fixtures/evidence/snp/test-vlek-report.bin";

describe("SNP report fuzzing", { skip: sharedSkip(REPORT) || sharedSkip(VLEK) }, () => {
  const seeds = () => [REPORT, VLEK].map((p) => new Uint8Array(readFileSync(sharedPath(p))));
  const offsets = () =>
    Object.values(SNP_LAYOUT as Record<string, { offset: number; length?: number }>)
      .map((f) => f.offset)
      .filter((o) => typeof o === "number");

  test("mutated reports parse or throw a coded EvidenceError", async (t) => {
    const corpus = seeds();
    const bounds = offsets();
    const stats = await fuzz({
      name: "snp-report",
      seed: 0x5e0,
      iterations: 6000,
      errorClass: EvidenceError,
      gen: (rng) =>
        mutate(rng, rng.pick(corpus), {
          boundaries: bounds,
          lengthOffsets: bounds,
          donors: corpus,
        }),
      target: (b) => parseSnpReport(b),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });

  test("mutated evidence JSON parses or throws a coded EvidenceError", async (t) => {
    const corpus = seeds().map((b) => ({
      attestation_report: snpReportToJson(parseSnpReport(b)),
      cert_chain: [
        {
          cert_type: "VCEK",
          data: [
            ...readFileSync(sharedPath("fixtures/evidence/snp/test-vcek.der")).subarray(0, 64),
          ],
        },
      ],
    }));
    const stats = await fuzz({
      name: "snp-evidence-json",
      seed: 0x5e1,
      iterations: 3000,
      errorClass: EvidenceError,
      gen: (rng) => mutateJson(rng, rng.pick(corpus)),
      target: (j) => parseSnpEvidence(j),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
