/**
 * Mutation fuzzing of EAR claim parsing (a token payload the guest or a relying party reads).
 * Property: a value whose every submodule status is a real tier, or an `EarError` with a code.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutateJson } from "../../../test/helpers/fuzz.js";
import { EAR_PROFILE, EarError, parseEarClaims } from "./claims.js";

const TIERS = ["none", "affirming", "warning", "contraindicated"];
const claims = {
  eat_profile: EAR_PROFILE,
  iat: 1_700_000_000,
  "ear.verifier-id": { developer: "x", build: "y" },
  submods: {
    cpu0: {
      "ear.status": "affirming",
      "ear.trustworthiness-vector": { executables: 2 },
      "ear.veraison.annotated-evidence": {},
    },
  },
};

describe("EAR claims", () => {
  // Found by fuzzing: `st in RANK` accepted inherited names as tiers.
  for (const st of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    test(`rejects ear.status '${st}' (an Object.prototype name, not a tier)`, () => {
      const v = structuredClone(claims);
      (v.submods.cpu0 as Record<string, unknown>)["ear.status"] = st;
      assert.throws(
        () => parseEarClaims(v),
        (e: unknown) => e instanceof EarError && e.code === "ERR_EAR_CLAIMS",
      );
    });
  }

  test("mutated EAR claims parse to real tiers or throw a coded EarError", async (t) => {
    const stats = await fuzz({
      name: "ear-claims",
      seed: 0xea2,
      iterations: 4000,
      errorClass: EarError,
      gen: (rng) => {
        const v = mutateJson(rng, claims) as Record<string, unknown>;
        if (
          rng.chance(0.2) &&
          v &&
          typeof v === "object" &&
          v.submods &&
          typeof v.submods === "object"
        ) {
          for (const s of Object.values(v.submods as Record<string, Record<string, unknown>>)) {
            if (s && typeof s === "object")
              s["ear.status"] = rng.pick([...TIERS, "constructor", "toString", "valueOf", "NONE"]);
          }
        }
        return v;
      },
      target: (v) => {
        const c = parseEarClaims(v);
        for (const s of Object.values(c.submods))
          assert.ok(TIERS.includes(s["ear.status"]), `tier ${String(s["ear.status"])}`);
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });
});
