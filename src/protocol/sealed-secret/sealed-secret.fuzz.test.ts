/**
 * Mutation fuzzing of sealed-secret parsing and verification (`sealed.<h>.<p>.<s>`, JWS ES256
 * with a vault or envelope payload) and of verification-JWK import. Property: a value or a
 * `SealedSecretError` with a code; a mutated secret never verifies.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate, mutateJson } from "../../../test/helpers/fuzz.js";
import {
  importVerificationJwk,
  parseSealedSecret,
  parseSealedSecretUnverified,
  SealedSecretError,
  sealSecret,
  type VaultSecret,
  verifySealedSecret,
} from "./sealed-secret.js";

const vault: VaultSecret = {
  version: "0.1.0",
  type: "vault",
  name: "kbs:///one/2/trois",
  provider: "kbs",
  provider_settings: {},
  annotations: {},
};

describe("sealed secret fuzzing", () => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...privateKey.export({ format: "jwk" }), alg: "ES256", use: "sig", kid: "k" };

  test("mutated sealed secrets parse or throw a coded SealedSecretError, and never verify", async (t) => {
    const sealed = await sealSecret(vault, jwk, "k");
    const key = importVerificationJwk(jwk);
    let verified = 0;
    const stats = await fuzz({
      name: "sealed-secret",
      seed: 0x5ea1,
      iterations: 3000,
      errorClass: SealedSecretError,
      gen: (rng) => {
        if (rng.chance(0.5))
          return Buffer.from(mutate(rng, Buffer.from(sealed))).toString("latin1");
        // Mutate the payload JSON and re-encode it, keeping the JWS shape.
        const [, h, p, s] = sealed.split(".");
        const payload = mutateJson(rng, JSON.parse(Buffer.from(p!, "base64url").toString()));
        return `sealed.${h}.${Buffer.from(JSON.stringify(payload) ?? "null").toString("base64url")}.${s}`;
      },
      target: async (text) => {
        if (text.split(".").length === 4) {
          try {
            parseSealedSecretUnverified(text);
          } catch (e) {
            if (!(e instanceof SealedSecretError)) throw e;
          }
        }
        await verifySealedSecret(parseSealedSecret(text), key);
        if (text !== sealed) verified++;
      },
    });
    t.diagnostic(describeStats(stats));
    assert.equal(verified, 0, "a mutated sealed secret verified");
    assert.ok(stats.coded.size > 0);
  });

  test("mutated verification JWKs import or throw a coded SealedSecretError", async (t) => {
    const stats = await fuzz({
      name: "sealed-jwk",
      seed: 0x5ea2,
      iterations: 2000,
      errorClass: SealedSecretError,
      gen: (rng) => mutateJson(rng, jwk),
      target: (j) => importVerificationJwk(j),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
