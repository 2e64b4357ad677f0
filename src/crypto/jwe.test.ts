import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkTeePublicKey,
  decryptWithTeeKey,
  encryptForTeeKey,
  generateTeeKeyPair,
  importTeePublicKey,
  type TeePublicJwk,
} from "./jwe.js";

const secret = new TextEncoder().encode("a very secret key 0123456789");

for (const kind of ["ec-p256", "ec-p521", "rsa"] as const) {
  test(`round-trips a resource through a ${kind} TEE key in upstream's JWE shape`, async () => {
    const { publicJwk, privateKey } = generateTeeKeyPair(kind);
    const jwe = await encryptForTeeKey(publicJwk, secret);
    assert.deepEqual(Object.keys(jwe), ["protected", "encrypted_key", "iv", "ciphertext", "tag"]);
    const header = JSON.parse(Buffer.from(jwe.protected, "base64url").toString()) as Record<
      string,
      unknown
    >;
    assert.equal(header.enc, "A256GCM");
    assert.equal(header.alg, publicJwk.alg);
    if (kind !== "rsa") {
      assert.equal((header.epk as { crv: string }).crv, kind === "ec-p256" ? "P-256" : "P-521");
      assert.equal(Buffer.from(jwe.encrypted_key, "base64url").length, 40);
    }
    assert.equal(Buffer.from(jwe.iv, "base64url").length, 12);
    assert.equal(Buffer.from(jwe.tag, "base64url").length, 16);
    assert.deepEqual(await decryptWithTeeKey(privateKey, jwe), secret);
  });
}

test("a tampered ciphertext, header or foreign key fails to decrypt", async () => {
  const { publicJwk, privateKey } = generateTeeKeyPair();
  const jwe = await encryptForTeeKey(publicJwk, secret);
  const flip = (s: string) => {
    const b = Buffer.from(s, "base64url");
    b[0] = (b[0] ?? 0) ^ 1;
    return b.toString("base64url");
  };
  await assert.rejects(
    decryptWithTeeKey(privateKey, { ...jwe, ciphertext: flip(jwe.ciphertext) }),
    {
      code: "ERR_CRYPTO_JWE_DECRYPT",
    },
  );
  await assert.rejects(decryptWithTeeKey(privateKey, { ...jwe, protected: flip(jwe.protected) }), {
    code: "ERR_CRYPTO_JWE_DECRYPT",
  });
  const other = generateTeeKeyPair();
  await assert.rejects(decryptWithTeeKey(other.privateKey, jwe), {
    code: "ERR_CRYPTO_JWE_DECRYPT",
  });
});

test("refuses TEE keys KBS cannot encrypt to", () => {
  const { publicJwk } = generateTeeKeyPair();
  const ec = publicJwk as Extract<TeePublicJwk, { kty: "EC" }>;
  const cases: unknown[] = [
    { ...ec, alg: "ECDH-ES" },
    { ...ec, crv: "P-384" },
    { ...ec, x: ec.x.slice(0, 10) },
    { ...ec, y: Buffer.alloc(32, 7).toString("base64url") },
    { kty: "RSA", alg: "RSA1_5", n: "AQAB", e: "AQAB" },
    { kty: "RSA", alg: "RSA-OAEP-256", n: Buffer.alloc(64, 1).toString("base64url"), e: "AQAB" },
    { kty: "OKP", alg: "ECDH-ES+A256KW" },
  ];
  for (const c of cases) {
    assert.throws(() => importTeePublicKey(c as TeePublicJwk), { code: "ERR_CRYPTO_TEE_KEY" });
    // The cheaper check used per handshake refuses exactly the same keys.
    assert.throws(() => checkTeePublicKey(c as TeePublicJwk), { code: "ERR_CRYPTO_TEE_KEY" });
  }
  for (const kind of ["ec-p256", "ec-p521", "rsa"] as const) {
    assert.doesNotThrow(() => checkTeePublicKey(generateTeeKeyPair(kind).publicJwk));
  }
  // A P-521 point off the curve (right sizes, wrong y).
  const p521 = generateTeeKeyPair("ec-p521").publicJwk as Extract<TeePublicJwk, { kty: "EC" }>;
  const y = Buffer.from(p521.y, "base64url");
  y[65] = (y[65] ?? 0) ^ 1;
  const off = { ...p521, y: y.toString("base64url") };
  assert.throws(() => checkTeePublicKey(off), { code: "ERR_CRYPTO_TEE_KEY" });
  assert.throws(() => importTeePublicKey(off), { code: "ERR_CRYPTO_TEE_KEY" });
});
