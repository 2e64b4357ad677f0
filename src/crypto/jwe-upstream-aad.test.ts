import assert from "node:assert/strict";
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  constants as sslConstants,
} from "node:crypto";
import { test } from "node:test";
import {
  decryptWithTeeKey,
  encryptForTeeKeySync,
  type FlattenedJwe,
  generateTeeKeyPair,
} from "./jwe.js";

// Upstream's guest (guest-components kbs_protocol `decrypt_response`) does not use the received
// `protected` string as the AES-GCM AAD: it parses the header into kbs-types `ProtectedHeader`
// and re-serialises it (`generate_aad`): `alg`, `enc`, then the other members from a serde_json
// Map, which is sorted by name (nested objects too), compact, base64url without padding.
// These helpers reproduce that rule independently of the code under test.

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortDeep((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

function upstreamAad(protectedB64: string): Buffer {
  const h = JSON.parse(Buffer.from(protectedB64, "base64url").toString("utf8"));
  const { alg, enc, ...rest } = h as Record<string, unknown>;
  const json = JSON.stringify({ alg, enc, ...(sortDeep(rest) as object) });
  return Buffer.from(Buffer.from(json).toString("base64url"));
}

function concatKdf(z: Buffer): Buffer {
  const alg = Buffer.from("ECDH-ES+A256KW");
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const otherInfo = Buffer.concat([u32(alg.length), alg, u32(0), u32(0), u32(256)]);
  return createHash("sha256")
    .update(Buffer.concat([u32(1), z, otherInfo]))
    .digest();
}

/** Decrypts a KBS response as upstream's guest does, with the AAD rule above. */
function decryptLikeUpstreamGuest(jwe: FlattenedJwe, priv: KeyObject): Buffer {
  const header = JSON.parse(Buffer.from(jwe.protected, "base64url").toString("utf8"));
  let cek: Buffer;
  if (header.alg === "ECDH-ES+A256KW") {
    const epk = createPublicKey({ key: { ...header.epk }, format: "jwk" });
    const z = diffieHellman({ privateKey: priv, publicKey: epk });
    const unwrap = createDecipheriv(
      "id-aes256-wrap",
      concatKdf(z),
      Buffer.from("A6A6A6A6A6A6A6A6", "hex"),
    );
    cek = Buffer.concat([
      unwrap.update(Buffer.from(jwe.encrypted_key, "base64url")),
      unwrap.final(),
    ]);
  } else {
    cek = privateDecrypt(
      { key: priv, padding: sslConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
      Buffer.from(jwe.encrypted_key, "base64url"),
    );
  }
  const d = createDecipheriv("aes-256-gcm", cek, Buffer.from(jwe.iv, "base64url"));
  d.setAAD(upstreamAad(jwe.protected));
  d.setAuthTag(Buffer.from(jwe.tag, "base64url"));
  return Buffer.concat([d.update(Buffer.from(jwe.ciphertext, "base64url")), d.final()]);
}

for (const kind of ["ec-p256", "ec-p521", "rsa"] as const) {
  test(`a ${kind} resource response decrypts under upstream's re-serialised AAD`, () => {
    const { publicJwk, privateKey } = generateTeeKeyPair(kind);
    for (const size of [0, 1, 4096]) {
      const plain = Buffer.alloc(size, size & 0xff);
      const jwe = encryptForTeeKeySync(publicJwk, plain);
      // The header bytes we send are exactly what upstream re-serialises.
      assert.equal(upstreamAad(jwe.protected).toString(), jwe.protected, `${kind} header bytes`);
      assert.deepEqual(decryptLikeUpstreamGuest(jwe, privateKey), plain);
    }
  });
}

test("a header in another member order fails upstream's rule but our guest accepts it", async () => {
  // Valid JOSE with `enc` before `alg`: the AAD is the received string, which upstream's guest
  // does not use. This is the failure mode the member order above prevents.
  const { publicJwk, privateKey } = generateTeeKeyPair("rsa");
  const cek = randomBytes(32);
  const iv = randomBytes(12);
  const protectedB64 = Buffer.from('{"enc":"A256GCM","alg":"RSA-OAEP-256"}').toString("base64url");
  const pub = createPublicKey({ key: publicJwk as never, format: "jwk" });
  const encryptedKey = publicEncrypt(
    { key: pub, padding: sslConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
    cek,
  );
  const c = createCipheriv("aes-256-gcm", cek, iv);
  c.setAAD(Buffer.from(protectedB64));
  const ciphertext = Buffer.concat([c.update("secret"), c.final()]);
  const jwe: FlattenedJwe = {
    protected: protectedB64,
    encrypted_key: encryptedKey.toString("base64url"),
    iv: iv.toString("base64url"),
    ciphertext: ciphertext.toString("base64url"),
    tag: c.getAuthTag().toString("base64url"),
  };
  assert.throws(() => decryptLikeUpstreamGuest(jwe, privateKey), /unable to authenticate/);
  assert.equal(Buffer.from(await decryptWithTeeKey(privateKey, jwe)).toString(), "secret");
});
