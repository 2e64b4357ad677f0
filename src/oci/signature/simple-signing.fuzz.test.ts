/**
 * Mutation fuzzing of GPG simple-signing verification (signatures come from a registry or a
 * lookaside server: untrusted), seeded with upstream image-rs signatures and public ring under
 * ../shared/fixtures/image-rs/signature/. Property: a payload or an `OciError` with a code, and
 * a mutated signature never yields a payload different from the original's.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate } from "../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { OciError } from "../errors.js";
import { readKeyring, verifySimpleSignature } from "./simple-signing.js";

const D = "fixtures/image-rs/signature/";
const skip = sharedSkip(`${D}pubring.gpg`) || sharedSkip(`${D}signatures/signature-1`);

describe("simple signing fuzzing", { skip }, () => {
  test("mutated signatures verify to the original payload or throw a coded OciError", async (t) => {
    const ring = await readKeyring(new Uint8Array(readFileSync(sharedPath(`${D}pubring.gpg`))));
    const sigs = ["signature-1", "signature-2"].map(
      (f) => new Uint8Array(readFileSync(sharedPath(`${D}signatures/${f}`))),
    );
    const originals = new Set<string>();
    for (const s of sigs) {
      try {
        originals.add(JSON.stringify(await verifySimpleSignature(s, ring, { allowSha1: true })));
      } catch (e) {
        assert.ok(e instanceof OciError, String(e)); // a seed may be signed by a key not in the ring
      }
    }
    let forged = 0;
    const stats = await fuzz({
      name: "simple-signing",
      seed: 0x999,
      iterations: 600,
      errorClass: OciError,
      gen: (rng) => mutate(rng, rng.pick(sigs), { donors: sigs }),
      target: async (b) => {
        const r = await verifySimpleSignature(b, ring, { allowSha1: true });
        if (!originals.has(JSON.stringify(r))) forged++;
      },
    });
    t.diagnostic(describeStats(stats));
    assert.equal(forged, 0, "a mutated signature verified to a new payload");
    assert.ok(stats.coded.size > 0);
  });

  test("mutated keyrings load or throw a coded OciError", async (t) => {
    const ring = new Uint8Array(readFileSync(sharedPath(`${D}pubring.gpg`)));
    const stats = await fuzz({
      name: "gpg-keyring",
      seed: 0x99a,
      iterations: 400,
      errorClass: OciError,
      gen: (rng) => mutate(rng, ring),
      target: (b) => readKeyring(b),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
