/**
 * Mutation fuzzing of the CCA token parser (CBOR collection, COSE_Sign1, claims) and of the
 * whole verification path, seeded with the real example token. Property: a value or an
 * `EvidenceError` with a code, within the hang bound.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate, mutateJson } from "../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import {
  parseCcaReferenceValues,
  parseCcaTrustAnchors,
  verifyCcaToken,
} from "../../trustee/as/verifier/cca/index.js";
import { EvidenceError } from "../common/errors.js";
import { parseCcaEvidence } from "./evidence.js";
import { parseCcaToken } from "./token.js";

const F = "fixtures/evidence/cca/";

describe("CCA token fuzzing", { skip: sharedSkip(`${F}cca-example-token.cbor`) }, () => {
  const seed = () => new Uint8Array(readFileSync(sharedPath(`${F}cca-example-token.cbor`)));

  test("mutated tokens parse and verify, or throw a coded EvidenceError", async (t) => {
    const token = seed();
    const trustAnchors = parseCcaTrustAnchors(readFileSync(sharedPath(`${F}tastore.json`), "utf8"));
    const referenceValues = parseCcaReferenceValues(
      readFileSync(sharedPath(`${F}rvstore.json`), "utf8"),
    );
    // CBOR heads of the collection, both COSE envelopes and their payloads.
    const bounds = [0, 3, 4, 7, 10, 14, 15, 16, 19, 1420, 1430, 1440, 1460];
    const stats = await fuzz({
      name: "cca-token",
      seed: 0xcca0,
      iterations: 3000,
      errorClass: EvidenceError,
      gen: (rng) =>
        mutate(rng, token, { boundaries: bounds, lengthOffsets: bounds, donors: [token] }),
      target: (b) => verifyCcaToken(parseCcaToken(b), { trustAnchors, referenceValues }),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 1);
  });

  test("mutated evidence JSON parses or throws a coded EvidenceError", async (t) => {
    const corpus = { token: Array.from(seed().subarray(0, 96)) };
    const stats = await fuzz({
      name: "cca-evidence-json",
      seed: 0xcca1,
      iterations: 2000,
      errorClass: EvidenceError,
      gen: (rng) => mutateJson(rng, corpus),
      target: (j) => parseCcaEvidence(j),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
