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
  createECDH,
  createHash,
  createPublicKey,
  type KeyObject,
  publicEncrypt,
  randomBytes,
  sign,
} from "node:crypto";

/** RFC 3394 §2.2.3.1 default initial value for AES key wrap. */
export const AES_KW_IV = Buffer.from("A6A6A6A6A6A6A6A6", "hex");

const KW_ALG = "ECDH-ES+A256KW";
const CURVE = { "P-256": { name: "prime256v1", len: 32 }, "P-521": { name: "secp521r1", len: 66 } };

/**
 * Concat KDF (NIST SP 800-56A, RFC 7518 §4.6.2) for ECDH-ES+A256KW with SHA-256, empty
 * PartyUInfo/PartyVInfo and a 256-bit key: one hash round.
 */
export function concatKdfA256kw(z: Uint8Array): Buffer {
  const alg = Buffer.from(KW_ALG);
  const info = Buffer.alloc(4 + alg.length + 4 + 4 + 4);
  let o = info.writeUInt32BE(alg.length, 0);
  o += alg.copy(info, o);
  o = info.writeUInt32BE(0, o); // PartyUInfo: empty
  o = info.writeUInt32BE(0, o); // PartyVInfo: empty
  info.writeUInt32BE(256, o); // SuppPubInfo: key length in bits
  return createHash("sha256")
    .update(Buffer.from([0, 0, 0, 1]))
    .update(z)
    .update(info)
    .digest();
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

/**
 * A fresh ephemeral key on the recipient's curve, its agreement with the recipient (ECDH-ES,
 * Concat KDF) and a fresh CEK wrapped with the result (A256KW).
 */
function ecKeyPart(key: Extract<JweRecipientKey, { kty: "EC" }>): KeyPart {
  const curve = CURVE[key.crv];
  const eph = createECDH(curve.name);
  const pub = eph.generateKeys();
  // computeSecret refuses points that are not on the curve.
  const peer = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(key.x, "base64url"),
    Buffer.from(key.y, "base64url"),
  ]);
  const z = eph.computeSecret(peer);
  const kek = concatKdfA256kw(z);
  z.fill(0);
  const cek = randomBytes(32);
  const encryptedKey = aes256KeyWrap(kek, cek);
  kek.fill(0);
  // Member order is upstream's wire bytes, not a JOSE requirement: stock guests (kbs_protocol)
  // do not use the received `protected` string as the AAD but re-serialise the header with
  // kbs-types `ProtectedHeader::generate_aad` (alg, enc, then the other members in a serde_json
  // Map, which sorts by name, nested objects too). See docs/interop.md.
  const epk = {
    crv: key.crv,
    kty: "EC",
    x: pub.subarray(1, 1 + curve.len).toString("base64url"),
    y: pub.subarray(1 + curve.len).toString("base64url"),
  };
  const header = JSON.stringify({ alg: KW_ALG, enc: "A256GCM", epk });
  return {
    protectedB64: Buffer.from(header).toString("base64url"),
    encryptedKey: encryptedKey.toString("base64url"),
    cek,
  };
}

/** A fresh CEK wrapped with RSA-OAEP-256 to the recipient. */
function rsaKeyPart(key: Extract<JweRecipientKey, { kty: "RSA" }>): KeyPart {
  const cek = randomBytes(32);
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
  const iv = randomBytes(12);
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

/** {@link encryptJweSync} with the key management moved off the request path, see {@link createJweEncryptor}. */
export interface JweEncryptor {
  encrypt(key: JweRecipientKey, plaintext: Uint8Array): FlattenedJweParts;
}

/**
 * An encryptor that prepares the key management of the next response (ephemeral key, ECDH-ES
 * agreement, fresh CEK and its wrap, protected header) for EC keys it has seen at least twice
 * (a guest that fetches resources repeatedly with one token) while the process is idle, so the
 * response needs only AES-GCM with a fresh IV. Each prepared part uses a fresh ephemeral key
 * and CEK and serves exactly one response, as without it; guests that fetch once cost nothing
 * extra. At most `maxKeys` recipients are remembered (least recently used out).
 */
export function createJweEncryptor(
  opts: { maxKeys?: number; defer?: (fn: () => void) => void } = {},
): JweEncryptor {
  const maxKeys = opts.maxKeys ?? 1024;
  const defer =
    opts.defer ??
    ((fn: () => void) => {
      setImmediate(fn).unref();
    });
  const seen = new Map<string, { uses: number; ready?: KeyPart; pending?: boolean }>();
  return {
    encrypt(key, plaintext) {
      if (key.kty !== "EC") return encryptWith(key, plaintext, undefined);
      const id = `${key.crv}.${key.x}.${key.y}`;
      const entry = seen.get(id) ?? { uses: 0 };
      seen.delete(id);
      seen.set(id, entry);
      if (seen.size > maxKeys) {
        const [oldest, e] = seen.entries().next().value as [string, { ready?: KeyPart }];
        e.ready?.cek.fill(0);
        seen.delete(oldest);
      }
      const ready = entry.ready;
      entry.ready = undefined;
      entry.uses++;
      const out = encryptWith(key, plaintext, ready);
      if (entry.uses >= 2 && !entry.pending) {
        entry.pending = true;
        const recipient = { ...key };
        defer(() => {
          entry.pending = false;
          if (seen.get(id) !== entry || entry.ready) return;
          try {
            entry.ready = ecKeyPart(recipient);
          } catch {
            // The next response computes its key part inline and reports the error there.
          }
        });
      }
      return out;
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
