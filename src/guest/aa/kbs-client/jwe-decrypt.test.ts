import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decryptWithTeeKey, encryptForTeeKey, generateTeeKeyPair } from "../../../crypto/jwe.js";
import { decryptEcJweFast } from "./jwe-decrypt.js";

describe("fast KBS JWE decryption", () => {
  for (const kind of ["ec-p256", "ec-p521"] as const) {
    test(`${kind}: equals jose on JWEs produced by the Trustee helper (jose)`, async () => {
      const k = generateTeeKeyPair(kind);
      for (const size of [0, 1, 64, 4096]) {
        const plain = Buffer.alloc(size, size & 0xff);
        const jwe = await encryptForTeeKey(k.publicJwk, plain);
        assert.deepEqual(Buffer.from(decryptEcJweFast(k.privateKey, jwe) ?? []), plain);
        assert.deepEqual(Buffer.from(await decryptWithTeeKey(k.privateKey, jwe)), plain);
      }
    });
  }

  test("tampering with ciphertext, tag, header or wrapped key fails; foreign keys fail", async () => {
    const k = generateTeeKeyPair("ec-p256");
    const jwe = await encryptForTeeKey(k.publicJwk, Buffer.from("secret"));
    const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
    for (const field of ["ciphertext", "tag", "encrypted_key"] as const) {
      assert.throws(() => decryptEcJweFast(k.privateKey, { ...jwe, [field]: flip(jwe[field]) }));
    }
    const hdr = JSON.parse(Buffer.from(jwe.protected, "base64url").toString());
    const reordered = Buffer.from(JSON.stringify({ enc: hdr.enc, ...hdr })).toString("base64url");
    assert.throws(
      () => decryptEcJweFast(k.privateKey, { ...jwe, protected: reordered }),
      "AAD is the received header",
    );
    assert.throws(() => decryptEcJweFast(generateTeeKeyPair("ec-p256").privateKey, jwe));
  });

  test("other shapes are left to jose", async () => {
    const rsa = generateTeeKeyPair("rsa");
    const jwe = await encryptForTeeKey(rsa.publicJwk, Buffer.from("x"));
    assert.equal(decryptEcJweFast(rsa.privateKey, jwe), undefined);
    const ec = generateTeeKeyPair("ec-p521");
    const p256 = generateTeeKeyPair("ec-p256");
    assert.equal(
      decryptEcJweFast(p256.privateKey, await encryptForTeeKey(ec.publicJwk, Buffer.from("x"))),
      undefined,
    );
  });
});
