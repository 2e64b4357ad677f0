/**
 * Mutation fuzzing of what the guest reads back from a KBS: resource answers (a flattened JWE
 * for the TEE key, EC P-256 and RSA). Property: the original plaintext or an `AaError` with a
 * code — a mutated answer never decrypts to anything else (AES-GCM authenticates it).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate, mutateJson } from "../../../../test/helpers/fuzz.js";
import { encryptForTeeKeySync, generateTeeKeyPair, type TeeKeyKind } from "../../../crypto/jwe.js";
import { AaError } from "../errors.js";
import { decryptResourceBody } from "./rcar.js";

describe("KBS resource answer fuzzing", () => {
  for (const kind of ["ec-p256", "rsa"] as TeeKeyKind[]) {
    test(`${kind}: mutated JWE answers decrypt to the original or throw a coded AaError`, async (t) => {
      const { publicJwk, privateKey } = generateTeeKeyPair(kind);
      const secret = new Uint8Array(Buffer.from("the resource secret"));
      const jwe = encryptForTeeKeySync(publicJwk, secret);
      const body = new Uint8Array(Buffer.from(JSON.stringify(jwe)));
      let wrong = 0;
      const stats = await fuzz({
        name: `kbs-answer-${kind}`,
        seed: kind === "rsa" ? 0x25a : 0xec,
        iterations: kind === "rsa" ? 600 : 1500,
        errorClass: AaError,
        gen: (rng) => {
          if (rng.chance(0.4)) return mutate(rng, body);
          // Mutate one field's bytes, keeping base64url, or the JSON shape.
          if (rng.chance(0.5))
            return new Uint8Array(Buffer.from(JSON.stringify(mutateJson(rng, jwe)) ?? "null"));
          const k = rng.pick(Object.keys(jwe)) as keyof typeof jwe;
          const v = String(jwe[k]);
          const m = Buffer.from(mutate(rng, new Uint8Array(Buffer.from(v, "base64url")))).toString(
            "base64url",
          );
          return new Uint8Array(Buffer.from(JSON.stringify({ ...jwe, [k]: m })));
        },
        show: (b) => Buffer.from(b).toString("utf8").slice(0, 300),
        target: async (b) => {
          const out = await decryptResourceBody(b, privateKey);
          if (!Buffer.from(out).equals(Buffer.from(secret))) wrong++;
        },
      });
      t.diagnostic(describeStats(stats));
      assert.equal(wrong, 0, "a mutated answer decrypted to other plaintext");
      assert.ok(stats.coded.size > 0);
    });
  }
});
