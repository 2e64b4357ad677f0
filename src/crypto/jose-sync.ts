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

/** One ECDH-ES agreement: the ephemeral public point and the shared secret Z. */
interface Agreement {
  /** Uncompressed ephemeral public point (0x04 ‖ x ‖ y). */
  pub: Buffer;
  z: Buffer;
}

/** A fresh ephemeral key on the recipient's curve and its agreement with the recipient. */
function agree(key: Extract<JweRecipientKey, { kty: "EC" }>): Agreement {
  const eph = createECDH(CURVE[key.crv].name);
  const pub = eph.generateKeys();
  // computeSecret refuses points that are not on the curve.
  const peer = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(key.x, "base64url"),
    Buffer.from(key.y, "base64url"),
  ]);
  return { pub, z: eph.computeSecret(peer) };
}

function encryptWith(
  key: JweRecipientKey,
  plaintext: Uint8Array,
  agreement: Agreement | undefined,
): FlattenedJweParts {
  const cek = randomBytes(32);
  let header: string;
  let encryptedKey: Buffer;
  if (key.kty === "EC") {
    const curve = CURVE[key.crv];
    const { pub, z } = agreement ?? agree(key);
    const kek = concatKdfA256kw(z);
    z.fill(0);
    encryptedKey = aes256KeyWrap(kek, cek);
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
    header = JSON.stringify({ alg: KW_ALG, enc: "A256GCM", epk });
  } else {
    const rsa = createPublicKey({ key: { kty: "RSA", n: key.n, e: key.e }, format: "jwk" });
    encryptedKey = publicEncrypt(
      { key: rsa, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
      cek,
    );
    header = JSON.stringify({ alg: "RSA-OAEP-256", enc: "A256GCM" });
  }
  const protectedB64 = Buffer.from(header).toString("base64url");
  const iv = randomBytes(12);
  // RFC 7516 §5.1 step 14: the AAD is the ASCII of the encoded protected header.
  const { ciphertext, tag } = aes256GcmEncrypt(cek, iv, Buffer.from(protectedB64), plaintext);
  cek.fill(0);
  return {
    protected: protectedB64,
    encrypted_key: encryptedKey.toString("base64url"),
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

/** {@link encryptJweSync} with ECDH work moved off the request path, see {@link createJweEncryptor}. */
export interface JweEncryptor {
  encrypt(key: JweRecipientKey, plaintext: Uint8Array): FlattenedJweParts;
}

/**
 * An encryptor that prepares the next ECDH-ES agreement for EC keys it has seen at least
 * twice (a guest that fetches resources repeatedly with one token) while the process is idle,
 * so the response needs only the KDF, key wrap and AES-GCM. Each prepared agreement uses a
 * fresh ephemeral key and serves exactly one response, as without it; guests that fetch once
 * cost nothing extra. At most `maxKeys` recipients are remembered (least recently used out).
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
  const seen = new Map<string, { uses: number; ready?: Agreement; pending?: boolean }>();
  return {
    encrypt(key, plaintext) {
      if (key.kty !== "EC") return encryptWith(key, plaintext, undefined);
      const id = `${key.crv}.${key.x}.${key.y}`;
      const entry = seen.get(id) ?? { uses: 0 };
      seen.delete(id);
      seen.set(id, entry);
      if (seen.size > maxKeys) {
        const [oldest, e] = seen.entries().next().value as [string, { ready?: Agreement }];
        e.ready?.z.fill(0);
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
            entry.ready = agree(recipient);
          } catch {
            // The next response computes its agreement inline and reports the error there.
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
