/**
 * Synchronous node:crypto primitives for JOSE objects that *we produce* on hot paths: the
 * resource JWE to a TEE key (ECDH-ES+A256KW or RSA-OAEP-256 with A256GCM, RFC 7518 §4.6, §4.3,
 * §5.3) and ES256 compact JWS (RFC 7515 with the IEEE P1363 signature encoding, RFC 7518 §3.4).
 *
 * This is a measured exception to DESIGN's "don't hand-write JOSE": `jose` runs every
 * operation as a WebCrypto job (an async hop to the thread pool, key imports per call), which
 * cost about 1 ms of a 1.2 ms handshake (docs/trustee.md has the numbers). Only outputs are
 * made here, and every output is decrypted or verified by `jose` in the tests; parsing and
 * verifying untrusted JOSE input stays with `jose`. The guest's fast decrypt of the one JWE
 * shape Trustee emits (`guest/aa/kbs-client/jwe-decrypt.ts`) shares the KDF from here.
 */
import {
  constants,
  createCipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPair,
  generateKeyPairSync,
  hash,
  type KeyObject,
  publicEncrypt,
  sign,
} from "node:crypto";
import { pooledRandomBytes } from "./random-pool.js";

/** RFC 3394 §2.2.3.1 default initial value for AES key wrap. */
export const AES_KW_IV = Buffer.from("A6A6A6A6A6A6A6A6", "hex");

const KW_ALG = "ECDH-ES+A256KW";
const CURVE = { "P-256": { name: "prime256v1", len: 32 }, "P-521": { name: "secp521r1", len: 66 } };

/**
 * The Concat KDF's input after Z for ECDH-ES+A256KW: AlgorithmID (length-prefixed), empty
 * PartyUInfo and PartyVInfo, and SuppPubInfo = 256 (the key length in bits). The same for
 * every key part, so built once.
 */
const KDF_OTHER_INFO = (() => {
  const alg = Buffer.from(KW_ALG);
  const info = Buffer.alloc(4 + alg.length + 4 + 4 + 4);
  let o = info.writeUInt32BE(alg.length, 0);
  o += alg.copy(info, o);
  o = info.writeUInt32BE(0, o); // PartyUInfo: empty
  o = info.writeUInt32BE(0, o); // PartyVInfo: empty
  info.writeUInt32BE(256, o); // SuppPubInfo: key length in bits
  return info;
})();
/** The Concat KDF's round counter: one round (a 256-bit key from SHA-256). */
const KDF_ROUND_1 = Buffer.from([0, 0, 0, 1]);

/**
 * Concat KDF (NIST SP 800-56A, RFC 7518 §4.6.2) for ECDH-ES+A256KW with SHA-256, empty
 * PartyUInfo/PartyVInfo and a 256-bit key: one hash round (one-shot `hash`, no Hash object).
 */
export function concatKdfA256kw(z: Uint8Array): Buffer {
  const input = Buffer.concat([KDF_ROUND_1, z, KDF_OTHER_INFO]);
  const kek = hash("sha256", input, "buffer");
  input.fill(0);
  return kek;
}

/** AES-256 key wrap (RFC 3394). */
export function aes256KeyWrap(kek: Uint8Array, key: Uint8Array): Buffer {
  const c = createCipheriv("id-aes256-wrap", kek, AES_KW_IV);
  return Buffer.concat([c.update(key), c.final()]);
}

/** AES-256-GCM with a 12-byte IV and a 16-byte tag. */
export function aes256GcmEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): { ciphertext: Buffer; tag: Buffer } {
  const c = createCipheriv("aes-256-gcm", key, iv);
  c.setAAD(aad);
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
  return { ciphertext, tag: c.getAuthTag() };
}

/** A TEE public key in the members this module needs (already shape-checked by the caller). */
export type JweRecipientKey =
  | { kty: "EC"; crv: "P-256" | "P-521"; x: string; y: string }
  | { kty: "RSA"; n: string; e: string };

/** The flattened JWE members KBS returns, in kbs_types::Response order. */
export interface FlattenedJweParts {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/**
 * Everything of one JWE but the content encryption: the protected header (with the `epk`),
 * the wrapped CEK and the CEK itself. Serves exactly one response.
 */
interface KeyPart {
  protectedB64: string;
  encryptedKey: string;
  cek: Buffer;
}

/** The recipient's public key as a KeyObject (`createPublicKey` refuses points off the curve). */
function importRecipient(key: Extract<JweRecipientKey, { kty: "EC" }>): KeyObject {
  return createPublicKey({ key: { kty: "EC", crv: key.crv, x: key.x, y: key.y }, format: "jwk" });
}

/**
 * A fresh ephemeral key on the recipient's curve, its agreement with the recipient (ECDH-ES,
 * Concat KDF) and a fresh CEK wrapped with the result (A256KW).
 */
function ecKeyPart(key: Extract<JweRecipientKey, { kty: "EC" }>): KeyPart {
  return ecKeyPartImported(key.crv, importRecipient(key));
}

/**
 * {@link ecKeyPart} with the two expensive steps, the ephemeral key pair and the ECDH
 * agreement, run as jobs on libuv's thread pool (`generateKeyPair` and `diffieHellman` with a
 * callback), so a server's event loop spends ~30 µs of its own time on it instead of ~100
 * (the pool's threads use the other core). `recipient` is the TEE key imported once
 * (`createPublicKey` refuses points off the curve).
 */
function ecKeyPartAsync(crv: "P-256" | "P-521", recipient: KeyObject): Promise<KeyPart> {
  return new Promise((resolve, reject) => {
    generateKeyPair("ec", { namedCurve: CURVE[crv].name }, (e1, publicKey, privateKey) => {
      if (e1) return reject(e1);
      diffieHellman({ privateKey, publicKey: recipient }, (e2, z) => {
        if (e2) return reject(e2);
        try {
          // RFC 7518 §6.2.1: x and y padded to the field size (node's JWK export does).
          const jwk = publicKey.export({ format: "jwk" });
          resolve(finishEcKeyPart(crv, jwk.x as string, jwk.y as string, z));
        } catch (e3) {
          reject(e3);
        }
      });
    });
  });
}

/**
 * {@link ecKeyPart} for a recipient imported once (`recipient`, a KeyObject): node's
 * `generateKeyPairSync` and `diffieHellman` on KeyObjects cost ~65 µs of CPU here, where the
 * `ECDH` class with the recipient's raw point costs ~90 µs (its `computeSecret` alone ~58 µs
 * against ~44). Same steps and outputs as {@link ecKeyPartAsync}, inline.
 */
function ecKeyPartImported(crv: "P-256" | "P-521", recipient: KeyObject): KeyPart {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: CURVE[crv].name });
  const z = diffieHellman({ privateKey, publicKey: recipient });
  // RFC 7518 §6.2.1: x and y padded to the field size (node's JWK export does).
  const jwk = publicKey.export({ format: "jwk" });
  return finishEcKeyPart(crv, jwk.x as string, jwk.y as string, z);
}

/** The cheap rest of a key part: Concat KDF over `z`, a fresh CEK, its wrap, the header. */
function finishEcKeyPart(crv: "P-256" | "P-521", x: string, y: string, z: Buffer): KeyPart {
  const kek = concatKdfA256kw(z);
  z.fill(0);
  const cek = pooledRandomBytes(32);
  const encryptedKey = aes256KeyWrap(kek, cek);
  kek.fill(0);
  // Member order is upstream's wire bytes, not a JOSE requirement: stock guests (kbs_protocol)
  // do not use the received `protected` string as the AAD but re-serialise the header with
  // kbs-types `ProtectedHeader::generate_aad` (alg, enc, then the other members in a serde_json
  // Map, which sorts by name, nested objects too). See docs/interop.md.
  const epk = { crv, kty: "EC", x, y };
  const header = JSON.stringify({ alg: KW_ALG, enc: "A256GCM", epk });
  return {
    protectedB64: Buffer.from(header).toString("base64url"),
    encryptedKey: encryptedKey.toString("base64url"),
    cek,
  };
}

/** A fresh CEK wrapped with RSA-OAEP-256 to the recipient. */
function rsaKeyPart(key: Extract<JweRecipientKey, { kty: "RSA" }>): KeyPart {
  const cek = pooledRandomBytes(32);
  const rsa = createPublicKey({ key: { kty: "RSA", n: key.n, e: key.e }, format: "jwk" });
  const encryptedKey = publicEncrypt(
    { key: rsa, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
    cek,
  );
  const header = JSON.stringify({ alg: "RSA-OAEP-256", enc: "A256GCM" });
  return {
    protectedB64: Buffer.from(header).toString("base64url"),
    encryptedKey: encryptedKey.toString("base64url"),
    cek,
  };
}

/** Encrypts `plaintext` with a key part (made now unless one was prepared) and a fresh IV. */
function encryptWith(
  key: JweRecipientKey,
  plaintext: Uint8Array,
  prepared: KeyPart | undefined,
): FlattenedJweParts {
  const part = prepared ?? (key.kty === "EC" ? ecKeyPart(key) : rsaKeyPart(key));
  const iv = pooledRandomBytes(12);
  // RFC 7516 §5.1 step 14: the AAD is the ASCII of the encoded protected header.
  const { ciphertext, tag } = aes256GcmEncrypt(
    part.cek,
    iv,
    Buffer.from(part.protectedB64),
    plaintext,
  );
  part.cek.fill(0);
  return {
    protected: part.protectedB64,
    encrypted_key: part.encryptedKey,
    iv: iv.toString("base64url"),
    ciphertext: ciphertext.toString("base64url"),
    tag: tag.toString("base64url"),
  };
}

/**
 * Encrypts `plaintext` to `key`: a fresh CEK, A256GCM with the protected header as AAD, the CEK
 * wrapped with ECDH-ES+A256KW (fresh ephemeral key, `epk` in the header) or RSA-OAEP-256.
 * Throws node's error when the key is not valid (a point off the curve, a bad modulus).
 */
export function encryptJweSync(key: JweRecipientKey, plaintext: Uint8Array): FlattenedJweParts {
  return encryptWith(key, plaintext, undefined);
}

/** {@link encryptJweSync} with the key management off the event loop, see {@link createJweEncryptor}. */
export interface JweEncryptor {
  encrypt(key: JweRecipientKey, plaintext: Uint8Array): Promise<FlattenedJweParts>;
}

interface Recipient {
  /** The TEE key imported once for the ECDH (`createPublicKey` refuses invalid keys). */
  key?: KeyObject;
  uses: number;
  /** The next response's key part, being made on the thread pool. */
  next?: Promise<KeyPart | undefined>;
}

/**
 * An encryptor for a server. With `offThread` (a process that has cores to spare: Trustee in
 * one process on a multi-core machine) the key management of EC recipients (ephemeral key
 * pair and ECDH-ES agreement) runs on libuv's thread pool ({@link ecKeyPartAsync}), so the
 * event loop keeps serving other requests meanwhile and the work uses another core; only the
 * KDF, the key wrap and AES-GCM run inline. Without it (every core already runs a server
 * process: a hop to the pool would only add its wake-ups) all of it runs inline, with the same
 * KeyObject steps ({@link ecKeyPartImported}). For
 * recipients seen at least twice (a guest that fetches repeatedly with one TEE key) the next
 * response's key part is started as soon as one is used (on the pool, or inline once the
 * event loop is idle), so it is usually ready when the request comes. Each key part uses a
 * fresh ephemeral key and CEK and serves exactly one response, as without it. Imported keys of
 * at most `maxKeys` recipients are remembered (least recently used out). RSA recipients are
 * encrypted inline.
 */
export function createJweEncryptor(
  opts: { maxKeys?: number; offThread?: boolean } = {},
): JweEncryptor {
  const maxKeys = opts.maxKeys ?? 1024;
  const offThread = opts.offThread ?? false;
  const seen = new Map<string, Recipient>();
  const drop = (r: Recipient) => {
    void r.next?.then((p) => p?.cek.fill(0));
    r.next = undefined;
  };
  const imported = (key: Extract<JweRecipientKey, { kty: "EC" }>, r: Recipient) => {
    r.key ??= importRecipient(key);
    return r.key;
  };
  // Inline too, the recipient is imported once (the KeyObject ECDH is cheaper than node's
  // `ECDH` class with a raw point, see ecKeyPartImported).
  const make = (key: Extract<JweRecipientKey, { kty: "EC" }>, r: Recipient) =>
    offThread
      ? ecKeyPartAsync(key.crv, imported(key, r))
      : ecKeyPartImported(key.crv, imported(key, r));
  const prepare = (key: Extract<JweRecipientKey, { kty: "EC" }>, r: Recipient) => {
    // A failure here is reported by the response that would have used it (made afresh).
    if (offThread) return ecKeyPartAsync(key.crv, imported(key, r)).catch(() => undefined);
    const { crv } = key;
    const recipient = r.key;
    return new Promise<KeyPart | undefined>((resolve) => {
      setImmediate(() => {
        try {
          resolve(recipient === undefined ? undefined : ecKeyPartImported(crv, recipient));
        } catch {
          resolve(undefined);
        }
      }).unref();
    });
  };
  return {
    async encrypt(key, plaintext) {
      if (key.kty !== "EC") return encryptWith(key, plaintext, undefined);
      const id = `${key.crv}.${key.x}.${key.y}`;
      const r = seen.get(id) ?? { uses: 0 };
      const pending = r.next;
      r.next = undefined;
      // Made (and the key imported) before the recipient is remembered: an invalid key throws.
      const part = pending === undefined ? make(key, r) : undefined;
      seen.delete(id);
      seen.set(id, r);
      if (seen.size > maxKeys) {
        const [oldest, e] = seen.entries().next().value as [string, Recipient];
        drop(e);
        seen.delete(oldest);
      }
      r.uses++;
      if (r.uses >= 2) r.next = prepare(key, r);
      return encryptWith(key, plaintext, (await pending) ?? (await (part ?? make(key, r))));
    },
  };
}

/**
 * An ES256 compact-JWS signer for one P-256 key and one protected header (encoded once):
 * `sign(payload)` returns `header.payload.signature`.
 */
export function createEs256Signer(
  privateKey: KeyObject,
  header: Record<string, unknown>,
): (payload: Uint8Array) => string {
  if (privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new RangeError("ES256 needs an EC P-256 private key");
  }
  const h = Buffer.from(JSON.stringify(header)).toString("base64url");
  return (payload) => {
    const input = `${h}.${Buffer.from(payload).toString("base64url")}`;
    const sig = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
    return `${input}.${sig.toString("base64url")}`;
  };
}

/**
 * {@link createEs256Signer} with the signature computed on libuv's thread pool (`sign` with a
 * callback): the event loop spends ~6 µs on it instead of ~25.
 */
export function createEs256AsyncSigner(
  privateKey: KeyObject,
  header: Record<string, unknown>,
): (payload: Uint8Array) => Promise<string> {
  if (privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new RangeError("ES256 needs an EC P-256 private key");
  }
  const h = Buffer.from(JSON.stringify(header)).toString("base64url");
  return (payload) =>
    new Promise((resolve, reject) => {
      const input = `${h}.${Buffer.from(payload).toString("base64url")}`;
      sign(
        "sha256",
        Buffer.from(input),
        { key: privateKey, dsaEncoding: "ieee-p1363" },
        (e, sig) => (e ? reject(e) : resolve(`${input}.${sig.toString("base64url")}`)),
      );
    });
}
