/**
 * Mutation fuzzing of TPM evidence (JSON, TPMS_ATTEST, TPMT_SIGNATURE) and the verification
 * path, seeded with upstream's TPM evidence.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate, mutateJson } from "../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { verifyTpmEvidence } from "../../trustee/as/verifier/tpm/index.js";
import { EvidenceError } from "../common/errors.js";
import { parseTpmEvidence } from "./evidence.js";

const P = "fixtures/evidence/tpm/tpm_evidence.json";

describe("TPM evidence fuzzing", { skip: sharedSkip(P) }, () => {
  const seed = () => JSON.parse(readFileSync(sharedPath(P), "utf8"));

  test("mutated evidence JSON parses and verifies, or throws a coded EvidenceError", async (t) => {
    const ev = seed();
    const stats = await fuzz({
      name: "tpm-evidence-json",
      seed: 0x7e0,
      iterations: 2000,
      errorClass: EvidenceError,
      gen: (rng) => mutateJson(rng, ev),
      target: (j) => verifyTpmEvidence(parseTpmEvidence(j)),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });

  test("mutated quote messages and signatures verify or throw a coded EvidenceError", async (t) => {
    const ev = seed();
    const msg = new Uint8Array(Buffer.from(ev.tpm_quote.message, "base64"));
    const sig = new Uint8Array(Buffer.from(ev.tpm_quote.signature, "base64"));
    const stats = await fuzz({
      name: "tpm-quote-bytes",
      seed: 0x7e1,
      iterations: 3000,
      errorClass: EvidenceError,
      gen: (rng) => {
        const which = rng.int(2) === 0 ? "message" : "signature";
        const b = mutate(rng, which === "message" ? msg : sig, {
          boundaries: [0, 4, 6, 8],
          lengthOffsets: [4, 6],
        });
        return {
          ...ev,
          tpm_quote: { ...ev.tpm_quote, [which]: Buffer.from(b).toString("base64") },
        };
      },
      target: (j) => verifyTpmEvidence(parseTpmEvidence(j)),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 1);
  });
});
