/**
 * Mutation fuzzing of the image-signature inputs besides GPG: containers policy.json and
 * registries.d (lookaside) YAML from upstream image-rs fixtures, cosign public keys, and cosign
 * signature/payload pairs (signatures come from a registry: untrusted). Property: a value or an
 * `OciError` with a code; a mutated cosign pair never verifies to a new payload.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate } from "../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { OciError } from "../errors.js";
import { loadCosignPublicKey, verifyCosignSignature } from "./cosign.js";
import { mergeRegistriesD } from "./lookaside.js";
import { createPayload } from "./payload.js";
import { parsePolicy } from "./policy.js";

const D = "fixtures/image-rs/signature/";
const skip =
  sharedSkip(`${D}policy.json`) ||
  sharedSkip(`${D}sigstore_config/test_case_1/1.yaml`) ||
  sharedSkip(`${D}cosign/cosign1.pub`);
const read = (rel: string) => new Uint8Array(readFileSync(sharedPath(rel)));

describe("image signature config fuzzing", { skip }, () => {
  test("mutated policy.json parses or throws a coded OciError", async (t) => {
    const seed = read(`${D}policy.json`);
    parsePolicy(seed);
    const stats = await fuzz({
      name: "policy-json",
      seed: 0x901,
      iterations: 3000,
      errorClass: OciError,
      gen: (rng) => mutate(rng, seed),
      target: (b) => parsePolicy(b),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });

  test("mutated registries.d YAML merges or throws a coded OciError", async (t) => {
    const seeds = ["test_case_1/1.yaml", "test_case_1/2.yaml"].map((f) =>
      read(`${D}sigstore_config/${f}`),
    );
    const stats = await fuzz({
      name: "registries-d",
      seed: 0x902,
      iterations: 1000,
      errorClass: OciError,
      gen: (rng) =>
        Buffer.from(
          mutate(rng, rng.pick(seeds), {
            donors: [new Uint8Array(Buffer.from("&a [*a, *a]\n<<: *a\n!!binary x\n? : \n"))],
          }),
        ).toString("utf8"),
      target: (y) => mergeRegistriesD({ docker: new Map() }, y),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });

  test("mutated cosign keys and signatures give coded errors, never a new payload", async (t) => {
    const pubs = ["cosign1.pub", "cosign2.pub", "cosign3.pub"].map((f) => read(`${D}cosign/${f}`));
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const payload = createPayload("registry.example/app:1", `sha256:${"c".repeat(64)}`);
    const signature = new Uint8Array(sign("sha256", payload, privateKey));
    const stats = await fuzz({
      name: "cosign",
      seed: 0x903,
      iterations: 3000,
      errorClass: OciError,
      gen: (rng) => ({
        k: rng.int(3),
        a: mutate(rng, rng.pick(pubs)),
        p: mutate(rng, payload),
        s: mutate(rng, signature),
      }),
      target: ({ k, a, p, s }) => {
        if (k === 0) return loadCosignPublicKey(a);
        const r = verifyCosignSignature(
          k === 1 ? { payload: p, signature } : { payload, signature: s },
          publicKey,
        );
        assert.ok(
          Buffer.from(k === 1 ? p : payload).equals(Buffer.from(payload)),
          `forged: ${JSON.stringify(r)}`,
        );
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
