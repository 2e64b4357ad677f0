import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { decodeProtectedHeader, flattenedDecrypt, jwtVerify } from "./jose.js";
import { createEs256Signer, createJweEncryptor, encryptJweSync } from "./jose-sync.js";
import { encryptForTeeKey, generateTeeKeyPair, type TeePublicJwk } from "./jwe.js";

// Every output of the synchronous primitives is checked by `jose`, the reference.
const SIZES = [0, 1, 31, 32, 33, 4096, 100_000];

for (const kind of ["ec-p256", "ec-p521", "rsa"] as const) {
  test(`jose decrypts what encryptJweSync makes for a ${kind} key, at every size`, async () => {
    const { publicJwk, privateKey } = generateTeeKeyPair(kind);
    for (const size of SIZES) {
      const plain = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);
      const jwe = encryptJweSync(publicJwk, plain);
      const out = await flattenedDecrypt(jwe, privateKey, {
        keyManagementAlgorithms: [publicJwk.alg],
        contentEncryptionAlgorithms: ["A256GCM"],
      });
      assert.deepEqual(Buffer.from(out.plaintext), Buffer.from(plain), `${kind} ${size}`);
      const header = out.protectedHeader as Record<string, unknown>;
      assert.equal(header.enc, "A256GCM");
      assert.equal(header.alg, publicJwk.alg);
      if (kind !== "rsa") {
        const epk = header.epk as Record<string, string>;
        assert.deepEqual(Object.keys(epk).sort(), ["crv", "kty", "x", "y"]);
        assert.equal(epk.crv, kind === "ec-p256" ? "P-256" : "P-521");
      }
    }
  });
}

test("each JWE has a fresh ephemeral key, CEK and IV", () => {
  const { publicJwk } = generateTeeKeyPair("ec-p256");
  const a = encryptJweSync(publicJwk, Buffer.from("x"));
  const b = encryptJweSync(publicJwk, Buffer.from("x"));
  assert.notEqual(a.protected, b.protected);
  assert.notEqual(a.encrypted_key, b.encrypted_key);
  assert.notEqual(a.iv, b.iv);
});

test("a TEE point off the curve is refused as ERR_CRYPTO_TEE_KEY", async () => {
  const { publicJwk } = generateTeeKeyPair("ec-p256");
  const off = { ...publicJwk, y: Buffer.alloc(32, 7).toString("base64url") } as TeePublicJwk;
  assert.throws(() => encryptJweSync(off, Buffer.from("x")));
  await assert.rejects(encryptForTeeKey(off, Buffer.from("x")), { code: "ERR_CRYPTO_TEE_KEY" });
});

test("jose verifies ES256 compact signatures made by createEs256Signer; tampering fails", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const header = { typ: "JWT", alg: "ES256", jwk: publicKey.export({ format: "jwk" }) };
  const signer = createEs256Signer(privateKey, header);
  for (const claims of [{ a: 1 }, { exp: 4_000_000_000, s: "é ✓".repeat(300) }]) {
    const token = signer(Buffer.from(JSON.stringify(claims)));
    const { payload } = await jwtVerify(token, publicKey, { algorithms: ["ES256"] });
    assert.deepEqual(payload, claims);
    assert.deepEqual(decodeProtectedHeader(token), header);
    const parts = token.split(".");
    const sig = Buffer.from(parts[2] ?? "", "base64url");
    assert.equal(sig.length, 64);
    sig[5] = (sig[5] ?? 0) ^ 1;
    const forged = `${parts[0]}.${parts[1]}.${sig.toString("base64url")}`;
    await assert.rejects(jwtVerify(forged, publicKey, { algorithms: ["ES256"] }));
  }
  const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
  assert.throws(() => createEs256Signer(p384, header), RangeError);
});

test("createJweEncryptor prepares one fresh key part per response for repeat recipients; jose decrypts all", async () => {
  const deferred: (() => void)[] = [];
  const enc = createJweEncryptor({ defer: (fn) => deferred.push(fn), maxKeys: 2 });
  const { publicJwk, privateKey } = generateTeeKeyPair("ec-p256");
  const epks: string[] = [];
  const wrapped = new Set<string>();
  const ivs = new Set<string>();
  const check = async (jwe: ReturnType<typeof encryptJweSync>, plain: string) => {
    wrapped.add(jwe.encrypted_key);
    ivs.add(jwe.iv);
    const out = await flattenedDecrypt(jwe, privateKey, {
      keyManagementAlgorithms: ["ECDH-ES+A256KW"],
      contentEncryptionAlgorithms: ["A256GCM"],
    });
    assert.equal(Buffer.from(out.plaintext).toString(), plain);
    epks.push(JSON.stringify((out.protectedHeader as { epk: unknown }).epk));
  };
  // First use: nothing prepared (a guest that fetches once costs nothing extra).
  await check(enc.encrypt(publicJwk, Buffer.from("one")), "one");
  assert.equal(deferred.length, 0);
  // Second use: the next agreement is scheduled, then prepared while "idle".
  await check(enc.encrypt(publicJwk, Buffer.from("two")), "two");
  assert.equal(deferred.length, 1);
  deferred.shift()?.();
  // Third and fourth: the prepared agreement serves exactly one response.
  await check(enc.encrypt(publicJwk, Buffer.from("three")), "three");
  await check(enc.encrypt(publicJwk, Buffer.from("four")), "four");
  assert.equal(new Set(epks).size, 4, "every response has its own ephemeral key");
  // Other recipients push the first out of the bound; its pending work is dropped.
  for (const kind of ["ec-p256", "ec-p521"] as const) {
    const other = generateTeeKeyPair(kind);
    enc.encrypt(other.publicJwk, Buffer.from("x"));
  }
  for (const fn of deferred.splice(0)) fn();
  await check(enc.encrypt(publicJwk, Buffer.from("five")), "five");
  assert.equal(new Set(epks).size, 5);
  assert.equal(wrapped.size, 5, "every response has its own CEK");
  assert.equal(ivs.size, 5, "every response has its own IV");
  // RSA recipients go straight through.
  const rsa = generateTeeKeyPair("rsa");
  const out = await flattenedDecrypt(enc.encrypt(rsa.publicJwk, Buffer.from("r")), rsa.privateKey, {
    keyManagementAlgorithms: ["RSA-OAEP-256"],
    contentEncryptionAlgorithms: ["A256GCM"],
  });
  assert.equal(Buffer.from(out.plaintext).toString(), "r");
});
