import assert from "node:assert/strict";
import { test } from "node:test";
import { EAR_PROFILE, parseEarClaims, statusOf, tierOf } from "./claims.js";

test("maps trust-claim values to the EAR tiers upstream uses", () => {
  assert.equal(tierOf(0), "none");
  assert.equal(tierOf(-1), "none");
  assert.equal(tierOf(2), "affirming");
  assert.equal(tierOf(-32), "affirming");
  assert.equal(tierOf(33), "warning");
  assert.equal(tierOf(96), "contraindicated");
  assert.equal(tierOf(97), "contraindicated");
  assert.equal(statusOf({ executables: 3, hardware: 2, configuration: 2 }), "affirming");
  assert.equal(statusOf({ executables: 33, hardware: 2 }), "warning");
  assert.equal(statusOf({ executables: 33, hardware: 97 }), "contraindicated");
  assert.equal(statusOf({}), "none");
});

test("parses EAR claims and refuses foreign shapes", () => {
  const good = {
    eat_profile: EAR_PROFILE,
    iat: 1,
    "ear.verifier-id": { developer: "d", build: "b" },
    submods: { cpu0: { "ear.status": "affirming" } },
  };
  assert.equal(parseEarClaims(good).submods.cpu0?.["ear.status"], "affirming");
  for (const bad of [null, {}, { ...good, eat_profile: "x" }, { ...good, submods: { cpu0: {} } }]) {
    assert.throws(() => parseEarClaims(bad), { code: "ERR_EAR_CLAIMS" });
  }
});
