import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { test } from "node:test";
import { decodeProtectedHeader, flattenedDecrypt, jwtVerify } from "./jose.js";
import {
  createEs256AsyncSigner,
  createEs256Signer,
  createJweEncryptor,
  encryptJweSync,
} from "./jose-sync.js";
import {
  createTeeKeyEncryptor,
  encryptForTeeKey,
  generateTeeKeyPair,
  type TeePublicJwk,
} from "./jwe.js";

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

for (const [name, make] of [
  ["createEs256Signer", createEs256Signer],
  ["createEs256AsyncSigner", createEs256AsyncSigner],
] as const) {
  test(`jose verifies ES256 compact signatures made by ${name}; tampering fails`, async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const header = { typ: "JWT", alg: "ES256", jwk: publicKey.export({ format: "jwk" }) };
    const signer = make(privateKey, header);
    for (const claims of [{ a: 1 }, { exp: 4_000_000_000, s: "é ✓".repeat(300) }]) {
      const token = await signer(Buffer.from(JSON.stringify(claims)));
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
    assert.throws(() => make(p384, header), RangeError);
  });
}

for (const offThread of [false, true]) {
  test(`createJweEncryptor (offThread ${offThread}): one fresh key part per response, the next made ahead for repeat recipients; jose decrypts all`, async () => {
    const enc = createJweEncryptor({ maxKeys: 2, offThread });
    const epks: string[] = [];
    const wrapped = new Set<string>();
    const ivs = new Set<string>();
    const check = async (
      jwe: ReturnType<typeof encryptJweSync>,
      privateKey: KeyObject,
      plain: string,
    ) => {
      wrapped.add(jwe.encrypted_key);
      ivs.add(jwe.iv);
      const out = await flattenedDecrypt(jwe, privateKey, {
        keyManagementAlgorithms: ["ECDH-ES+A256KW"],
        contentEncryptionAlgorithms: ["A256GCM"],
      });
      assert.equal(Buffer.from(out.plaintext).toString(), plain);
      // The header keeps upstream's member order (alg, enc, epk with sorted members).
      const header = Buffer.from(jwe.protected, "base64url").toString();
      assert.match(
        header,
        /^\{"alg":"ECDH-ES\+A256KW","enc":"A256GCM","epk":\{"crv":"P-(256|521)","kty":"EC","x":"[\w-]+","y":"[\w-]+"\}\}$/,
      );
      epks.push(JSON.stringify((out.protectedHeader as { epk: unknown }).epk));
    };
    for (const kind of ["ec-p256", "ec-p521"] as const) {
      const { publicJwk, privateKey } = generateTeeKeyPair(kind);
      // Several responses at once for one recipient, then one after another.
      const first = await Promise.all(
        ["a", "b", "c"].map((p) => enc.encrypt(publicJwk, Buffer.from(p))),
      );
      for (const [i, jwe] of first.entries())
        await check(jwe, privateKey, ["a", "b", "c"][i] ?? "");
      for (const p of ["d", "e", "f"])
        await check(await enc.encrypt(publicJwk, Buffer.from(p)), privateKey, p);
    }
    assert.equal(new Set(epks).size, 12, "every response has its own ephemeral key");
    assert.equal(wrapped.size, 12, "every response has its own CEK");
    assert.equal(ivs.size, 12, "every response has its own IV");
    // Other recipients push the first out of the bound; it is served afresh after.
    const { publicJwk, privateKey } = generateTeeKeyPair("ec-p256");
    await check(await enc.encrypt(publicJwk, Buffer.from("g")), privateKey, "g");
    await check(await enc.encrypt(publicJwk, Buffer.from("h")), privateKey, "h");
    for (let i = 0; i < 3; i++)
      await enc.encrypt(generateTeeKeyPair("ec-p256").publicJwk, Buffer.from("x"));
    await check(await enc.encrypt(publicJwk, Buffer.from("i")), privateKey, "i");
    // RSA recipients go straight through.
    const rsa = generateTeeKeyPair("rsa");
    const out = await flattenedDecrypt(
      await enc.encrypt(rsa.publicJwk, Buffer.from("r")),
      rsa.privateKey,
      {
        keyManagementAlgorithms: ["RSA-OAEP-256"],
        contentEncryptionAlgorithms: ["A256GCM"],
      },
    );
    assert.equal(Buffer.from(out.plaintext).toString(), "r");
  });
}

for (const offThread of [false, true]) {
  test(`createTeeKeyEncryptor (offThread ${offThread}) refuses a point off the curve and a bad shape as ERR_CRYPTO_TEE_KEY`, async () => {
    const enc = createTeeKeyEncryptor({ offThread });
    const { publicJwk } = generateTeeKeyPair("ec-p256");
    const off = { ...publicJwk, y: Buffer.alloc(32, 7).toString("base64url") } as TeePublicJwk;
    await assert.rejects(enc.encrypt(off, Buffer.from("x")), { code: "ERR_CRYPTO_TEE_KEY" });
    const short = { ...publicJwk, x: "AAAA" } as TeePublicJwk;
    await assert.rejects(enc.encrypt(short, Buffer.from("x")), { code: "ERR_CRYPTO_TEE_KEY" });
    // The valid key still works after the refusals.
    assert.equal(typeof (await enc.encrypt(publicJwk, Buffer.from("x"))).ciphertext, "string");
  });
}
