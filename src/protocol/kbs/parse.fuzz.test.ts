/**
 * Mutation fuzzing of the KBS protocol parsers that take a guest's (untrusted) JSON: Request,
 * Attestation (runtime-data, tee-pubkey JWK shapes, init-data, tee-evidence), and raw JSON
 * bodies. Property: a value or a `KbsProtocolError` with a code.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate, mutateJson } from "../../../test/helpers/fuzz.js";
import { generateTeeKeyPair } from "../../crypto/jwe.js";
import { KbsProtocolError } from "./errors.js";
import { parseJsonBytes, parseKbsAttestation, parseKbsRequest, parseTeePubKey } from "./parse.js";

describe("KBS request parser fuzzing", () => {
  const { publicJwk } = generateTeeKeyPair();
  const request = {
    version: "0.4.0",
    tee: "snp",
    "extra-params": { "supported-hash-algorithms": ["sha256", "sha384"] },
  };
  const attestation = {
    "init-data": { format: "toml", body: 'version = "0.1.0"' },
    "runtime-data": { nonce: "bm9uY2U", "tee-pubkey": { ...publicJwk, use: "enc" } },
    "tee-evidence": { primary_evidence: { svn: "1" }, additional_evidence: "" },
  };
  const ecJwk = { kty: "EC", crv: "P-256", alg: "ECDH-ES+A256KW", x: "AAAA", y: "AAAA" };

  test("mutated Request and Attestation JSON give a value or a coded KbsProtocolError", async (t) => {
    const stats = await fuzz({
      name: "kbs-json",
      seed: 0xb5,
      iterations: 6000,
      errorClass: KbsProtocolError,
      gen: (rng) => ({
        kind: rng.int(3),
        v: mutateJson(rng, rng.pick([request, attestation, publicJwk, ecJwk])),
      }),
      target: ({ kind, v }) =>
        kind === 0 ? parseKbsRequest(v) : kind === 1 ? parseKbsAttestation(v) : parseTeePubKey(v),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });

  test("mutated JSON bodies give a value or a coded KbsProtocolError", async (t) => {
    const bodies = [request, attestation].map(
      (o) => new Uint8Array(Buffer.from(JSON.stringify(o))),
    );
    const stats = await fuzz({
      name: "kbs-body",
      seed: 0xb6,
      iterations: 4000,
      errorClass: KbsProtocolError,
      gen: (rng) => mutate(rng, rng.pick(bodies)),
      target: (b) => parseKbsAttestation(parseJsonBytes(b, 4096)),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
