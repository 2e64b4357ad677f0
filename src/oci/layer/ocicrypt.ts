/**
 * ocicrypt layer encryption, wire-compatible with containers/ocicrypt and ocicrypt-rs:
 * AES-256-CTR over the (compressed) layer blob with the 16-byte nonce as the full initial counter
 * block, and HMAC-SHA256 over the ciphertext keyed with the same key (encrypt-then-MAC).
 * Public options travel in `org.opencontainers.image.enc.pubopts`, private options (PLBCO) are
 * wrapped per recipient in `org.opencontainers.image.enc.keys.<scheme>`.
 */
import {
  type Cipheriv,
  createCipheriv,
  createDecipheriv,
  createHmac,
  type Decipheriv,
  type Hmac,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { OciError } from "../errors.js";

/** Annotation holding base64 of the public options JSON. */
export const ANNOTATION_PUBOPTS = "org.opencontainers.image.enc.pubopts";
/** Prefix of the wrapped-key annotations. */
export const ANNOTATION_KEYS_PREFIX = "org.opencontainers.image.enc.keys.";
/** The JWE recipient annotation. */
export const ANNOTATION_KEYS_JWE = "org.opencontainers.image.enc.keys.jwe";
/** Prefix of key-provider annotations (any provider name is accepted on decryption). */
export const ANNOTATION_KEYS_PROVIDER = "org.opencontainers.image.enc.keys.provider.";
/** The only layer cipher ocicrypt defines. */
export const CIPHER_AES_CTR_HMAC = "AES_256_CTR_HMAC_SHA256";

/** Private layer block cipher options (the "PLBCO" that recipients unwrap). */
export interface PrivateLayerOptions {
  symkey: Uint8Array;
  nonce: Uint8Array;
  /** Digest of the unencrypted blob, recorded at encryption. */
  digest: string;
}

/** Public options: cipher name and the expected HMAC. */
export interface PublicLayerOptions {
  cipher: string;
  hmac: Uint8Array;
}

function b64(value: unknown, what: string): Buffer {
  if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new OciError("ERR_OCI_DECRYPT", `${what} must be standard base64`);
  }
  return Buffer.from(value, "base64");
}

/** Parses the pubopts annotation value (base64 of JSON). */
export function parsePublicOptions(annotation: string | undefined): PublicLayerOptions {
  if (annotation === undefined)
    throw new OciError(
      "ERR_OCI_DECRYPT",
      `encrypted layer has no ${ANNOTATION_PUBOPTS} annotation`,
    );
  let o: { cipher?: unknown; hmac?: unknown };
  try {
    o = JSON.parse(b64(annotation, "pubopts").toString("utf8")) as typeof o;
  } catch (err) {
    if (err instanceof OciError) throw err;
    throw new OciError("ERR_OCI_DECRYPT", "pubopts is not JSON");
  }
  if (o === null || typeof o !== "object")
    throw new OciError("ERR_OCI_DECRYPT", "pubopts is not a JSON object");
  if (o.cipher !== CIPHER_AES_CTR_HMAC) {
    throw new OciError(
      "ERR_OCI_DECRYPT",
      `unsupported layer cipher '${String(o.cipher).slice(0, 40)}' (only ${CIPHER_AES_CTR_HMAC})`,
    );
  }
  const hmac = b64(o.hmac, "pubopts.hmac");
  if (hmac.length !== 32)
    throw new OciError(
      "ERR_OCI_DECRYPT",
      "pubopts.hmac must be 32 bytes; refusing a layer without integrity",
    );
  return { cipher: o.cipher, hmac };
}

/** Parses the PLBCO JSON unwrapped by a recipient. */
export function parsePrivateOptions(bytes: Uint8Array): PrivateLayerOptions {
  let o: { symkey?: unknown; cipheroptions?: { nonce?: unknown } | null; digest?: unknown };
  try {
    o = JSON.parse(Buffer.from(bytes).toString("utf8")) as typeof o;
  } catch {
    throw new OciError("ERR_OCI_DECRYPT_KEY", "unwrapped layer options are not JSON");
  }
  if (o === null || typeof o !== "object")
    throw new OciError("ERR_OCI_DECRYPT_KEY", "unwrapped layer options are not an object");
  const symkey = b64(o.symkey, "symkey");
  const nonce = b64(o.cipheroptions?.nonce, "cipheroptions.nonce");
  if (symkey.length !== 32) throw new OciError("ERR_OCI_DECRYPT_KEY", "layer key must be 32 bytes");
  if (nonce.length !== 16)
    throw new OciError("ERR_OCI_DECRYPT_KEY", "layer nonce must be 16 bytes");
  return { symkey, nonce, digest: typeof o.digest === "string" ? o.digest : "" };
}

/** Serialises PLBCO JSON as Go ocicrypt does (field names and base64 values). */
export function serializePrivateOptions(p: PrivateLayerOptions): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      symkey: Buffer.from(p.symkey).toString("base64"),
      cipheroptions: { nonce: Buffer.from(p.nonce).toString("base64") },
      digest: p.digest,
    }),
  );
}

/** Serialises the pubopts annotation value. */
export function serializePublicOptions(hmac: Uint8Array): string {
  return Buffer.from(
    JSON.stringify({
      cipher: CIPHER_AES_CTR_HMAC,
      hmac: Buffer.from(hmac).toString("base64"),
      cipheroptions: {},
    }),
  ).toString("base64");
}

/**
 * Streaming decryptor: feed ciphertext chunks to `update`, then call `final()`, which throws
 * ERR_OCI_HMAC when the MAC over the ciphertext does not match (constant-time compare).
 */
export class LayerDecryptor {
  readonly #decipher: Decipheriv;
  readonly #hmac: Hmac;
  readonly #expected: Uint8Array;

  constructor(priv: PrivateLayerOptions, pub: PublicLayerOptions) {
    this.#decipher = createDecipheriv("aes-256-ctr", priv.symkey, priv.nonce);
    this.#hmac = createHmac("sha256", priv.symkey);
    this.#expected = pub.hmac;
  }

  update(chunk: Uint8Array): Buffer {
    this.#hmac.update(chunk);
    return this.#decipher.update(chunk);
  }

  final(): void {
    this.#decipher.final();
    const got = this.#hmac.digest();
    if (got.length !== this.#expected.length || !timingSafeEqual(got, this.#expected)) {
      throw new OciError(
        "ERR_OCI_HMAC",
        "layer HMAC does not match: the encrypted layer was altered or the key is wrong",
      );
    }
  }
}

/** Streaming encryptor: `update` returns ciphertext; `final()` returns the HMAC. */
export class LayerEncryptor {
  readonly #cipher: Cipheriv;
  readonly #hmac: Hmac;
  readonly symkey: Buffer;
  readonly nonce: Buffer;

  constructor(symkey: Uint8Array = randomBytes(32), nonce: Uint8Array = randomBytes(16)) {
    if (symkey.length !== 32 || nonce.length !== 16)
      throw new OciError("ERR_OCI_ENCRYPT", "key must be 32 bytes and nonce 16 bytes");
    this.symkey = Buffer.from(symkey);
    this.nonce = Buffer.from(nonce);
    this.#cipher = createCipheriv("aes-256-ctr", this.symkey, this.nonce);
    this.#hmac = createHmac("sha256", this.symkey);
  }

  update(chunk: Uint8Array): Buffer {
    const out = this.#cipher.update(chunk);
    this.#hmac.update(out);
    return out;
  }

  final(): Buffer {
    const tail = this.#cipher.final();
    if (tail.length > 0) this.#hmac.update(tail);
    return this.#hmac.digest();
  }
}
