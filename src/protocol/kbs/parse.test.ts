import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { generateTeeKeyPair } from "../../crypto/jwe.js";
import { parseJsonBytes, parseKbsAttestation, parseKbsRequest, parseTeePubKey } from "./parse.js";
import {
  hashAlgorithmFromChallenge,
  primaryRuntimeData,
  runtimeDataDigest,
  selectHashAlgorithm,
} from "./runtime-data.js";

test("parses the Request guest-components sends", () => {
  const r = parseKbsRequest({
    version: "0.4.0",
    tee: "sample",
    "extra-params": { "supported-hash-algorithms": ["sha256", "sha384", "sha512", "sm3"] },
  });
  assert.equal(r.tee, "sample");
});

test("refuses other protocol versions and unknown TEEs", () => {
  for (const version of ["0.3.0", "0.4", "0.4.1", ""]) {
    assert.throws(() => parseKbsRequest({ version, tee: "sample" }), { code: "ERR_KBS_VERSION" });
  }
  assert.throws(() => parseKbsRequest({ version: "0.4.0", tee: "foo" }), { code: "ERR_KBS_TEE" });
  assert.throws(() => parseKbsRequest({ version: 4, tee: "sample" }), { code: "ERR_KBS_FIELD" });
  assert.throws(() => parseKbsRequest([]), { code: "ERR_KBS_FIELD" });
});

test("JSON bodies: garbage, invalid UTF-8, oversize and truncation are coded errors", () => {
  assert.throws(() => parseJsonBytes(new TextEncoder().encode("{nope")), { code: "ERR_KBS_JSON" });
  assert.throws(() => parseJsonBytes(new Uint8Array([0x7b, 0xff, 0x7d])), { code: "ERR_KBS_JSON" });
  assert.throws(() => parseJsonBytes(new Uint8Array(11), 10), { code: "ERR_KBS_TOO_LARGE" });
  const full = JSON.stringify({ version: "0.4.0", tee: "sample" });
  for (let i = 0; i < full.length; i++) {
    assert.throws(() => parseJsonBytes(new TextEncoder().encode(full.slice(0, i))), {
      code: "ERR_KBS_JSON",
    });
  }
});

test("JSON errors say where the body broke without quoting it", () => {
  assert.throws(
    () => parseJsonBytes(new TextEncoder().encode('{"tee-pubkey": "SECRET-MATERIAL" oops}')),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, "ERR_KBS_JSON");
      assert.doesNotMatch(e.message, /SECRET/);
      assert.match(e.message, /at byte \d+/);
      return true;
    },
  );
});

test("attestation parsing normalizes the TEE key and accepts init-data null", () => {
  const { publicJwk } = generateTeeKeyPair();
  const a = parseKbsAttestation({
    "init-data": null,
    "runtime-data": { nonce: "n", "tee-pubkey": { ...publicJwk, use: "enc" } },
    "tee-evidence": { primary_evidence: { svn: "1" }, additional_evidence: "" },
  });
  assert.deepEqual(a["runtime-data"]["tee-pubkey"], publicJwk);
  assert.equal(a["init-data"], null);
  assert.throws(
    () =>
      parseKbsAttestation({
        "runtime-data": { nonce: "n", "tee-pubkey": publicJwk },
        "tee-evidence": {},
      }),
    { code: "ERR_KBS_FIELD" },
  );
  assert.throws(() => parseTeePubKey({ kty: "oct", alg: "A256KW" }), { code: "ERR_KBS_FIELD" });
});

test("hash negotiation keeps upstream's sha384 and selects another only when asked", () => {
  const all = { "supported-hash-algorithms": ["sha256", "sha384", "sha512", "sm3"] };
  assert.deepEqual(selectHashAlgorithm(all), { algorithm: "sha384", extraParams: "" });
  assert.deepEqual(selectHashAlgorithm(""), { algorithm: "sha384", extraParams: "" });
  assert.deepEqual(selectHashAlgorithm({ "supported-hash-algorithms": ["SHA256"] }), {
    algorithm: "sha256",
    extraParams: { "selected-hash-algorithm": "sha256" },
  });
  assert.throws(() => selectHashAlgorithm({ "supported-hash-algorithms": ["md5"] }), {
    code: "ERR_KBS_FIELD",
  });
  assert.equal(hashAlgorithmFromChallenge(""), "sha384");
  assert.equal(hashAlgorithmFromChallenge({ "selected-hash-algorithm": "SM3" }), "sm3");
  assert.throws(() => hashAlgorithmFromChallenge({ "selected-hash-algorithm": "md5" }), {
    code: "ERR_CRYPTO_HASH_ALG",
  });
});

test("primary runtime data always carries additional-evidence, sorted by JCS", () => {
  const jwk = { kty: "EC", crv: "P-256", alg: "ECDH-ES+A256KW", x: "x", y: "y" } as const;
  const rd = primaryRuntimeData("abc", jwk, "");
  const d = runtimeDataDigest("sha384", rd);
  assert.equal(d.length, 48);
  const want = createHash("sha384")
    .update(
      '{"additional-evidence":"","nonce":"abc","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"x","y":"y"}}',
    )
    .digest();
  assert.deepEqual(Buffer.from(d), want);
});
