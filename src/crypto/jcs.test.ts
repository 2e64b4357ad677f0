import assert from "node:assert/strict";
import { test } from "node:test";
import { constantTimeEqual } from "./compare.js";
import { digest, parseHashAlgorithm } from "./digest.js";
import { canonicalJson, canonicalJsonDigest } from "./jcs.js";

test("canonicalizes and hashes the upstream attestation-service test vector", () => {
  const v = { b: 1, a: "test", c: { d: "e" } };
  assert.equal(canonicalJson(v), '{"a":"test","b":1,"c":{"d":"e"}}');
  assert.equal(
    Buffer.from(canonicalJsonDigest("sha384", v)).toString("hex"),
    "e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3",
  );
});

test("refuses values with no JSON form", () => {
  assert.throws(() => canonicalJson(undefined), { code: "ERR_CRYPTO_JCS" });
  assert.throws(() => canonicalJson(Number.NaN), { code: "ERR_CRYPTO_JCS" });
});

test("hash algorithms parse case-insensitively and unknown names are refused", () => {
  assert.equal(parseHashAlgorithm("SHA512"), "sha512");
  assert.throws(() => parseHashAlgorithm("sha-384"), { code: "ERR_CRYPTO_HASH_ALG" });
  assert.throws(() => parseHashAlgorithm(5), { code: "ERR_CRYPTO_HASH_ALG" });
  assert.equal(digest("sm3", "abc").length, 32);
  assert.equal(
    Buffer.from(digest("sm3", "abc")).toString("hex"),
    "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
  );
});

test("constant-time compare", () => {
  assert.equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assert.equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  assert.equal(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2])), false);
});
