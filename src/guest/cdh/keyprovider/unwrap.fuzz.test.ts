/**
 * Mutation fuzzing of the CDH keyprovider `UnWrapKey` path (what image decryption hands the
 * CDH: a JSON request carrying an AnnotationPacket from the image's layer annotations, which a
 * registry controls), with the offline file-system KBC holding the KEK. Property: the layer
 * key, or a coded error (`CdhError`, or `ResourceUriError` for a bad `kid`); a mutated packet
 * never unwraps to a different key under A256GCM.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { describeStats, fuzz, mutate, mutateJson } from "../../../../test/helpers/fuzz.js";
import { CocoError } from "../../../errors.js";
import { createOfflineFsKbc } from "../kbc/offline-fs.js";
import { aesGcmEncrypt } from "../secret/aes.js";
import { handleUnwrapKey } from "./unwrap.js";

const dir = mkdtempSync(join(tmpdir(), "coco-unwrap-fuzz-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("CDH keyprovider UnWrapKey fuzzing", () => {
  test("mutated requests give the layer key or a coded error", async (t) => {
    const kek = Buffer.alloc(32, 7);
    writeFileSync(
      join(dir, "keys.json"),
      JSON.stringify({ "default/key/1": kek.toString("base64") }),
    );
    const kbc = createOfflineFsKbc([join(dir, "keys.json")]);
    const layerKey = new Uint8Array(
      Buffer.from(JSON.stringify({ symkey: "x", cipheroptions: {} })),
    );
    const sealed = aesGcmEncrypt(kek, layerKey);
    const packet = {
      kid: "kbs:///default/key/1",
      wrapped_data: Buffer.from(sealed.data).toString("base64"),
      iv: Buffer.from(sealed.iv).toString("base64"),
      wrap_type: "A256GCM",
    };
    const request = (p: unknown) => ({
      op: "keyunwrap",
      keywrapparams: {},
      keyunwrapparams: {
        dc: null,
        annotation: Buffer.from(JSON.stringify(p) ?? "null").toString("base64"),
      },
    });
    const good = await handleUnwrapKey(
      new Uint8Array(Buffer.from(JSON.stringify(request(packet)))),
      kbc,
    );
    const want = Buffer.from(JSON.stringify({ keyunwrapresults: { optsdata: [...layerKey] } }));
    assert.ok(Buffer.from(good).equals(want));
    let other = 0;
    const stats = await fuzz({
      name: "cdh-unwrap",
      seed: 0xcd4,
      iterations: 3000,
      errorClass: CocoError,
      gen: (rng) => {
        const k = rng.int(3);
        if (k === 0)
          return new Uint8Array(Buffer.from(JSON.stringify(request(mutateJson(rng, packet)))));
        if (k === 1)
          return new Uint8Array(
            Buffer.from(JSON.stringify(mutateJson(rng, request(packet))) ?? "null"),
          );
        return mutate(rng, new Uint8Array(Buffer.from(JSON.stringify(request(packet)))));
      },
      show: (b) => Buffer.from(b).toString("utf8").slice(0, 300),
      target: async (b) => {
        const out = Buffer.from(await handleUnwrapKey(b, kbc));
        if (!out.equals(want)) other++;
      },
    });
    t.diagnostic(describeStats(stats));
    assert.equal(other, 0, "a mutated packet unwrapped to another key");
    assert.ok(stats.coded.size > 0);
  });
});
