/**
 * The two wrap types guest-components uses for AnnotationPackets and envelope secrets:
 * `A256GCM` (12-byte IV, data = ciphertext || 16-byte tag) and `A256CTR` (16-byte IV used as
 * a 128-bit big-endian counter). node:crypto does the cipher work.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { CdhError } from "../errors.js";

/** Wrap type names. */
export type WrapType = "A256GCM" | "A256CTR";

/** Decrypts `data` with a 32-byte key; a wrong key, IV or tag is ERR_CDH_DECRYPT. */
export function aesDecrypt(
  wrap: string,
  key: Uint8Array,
  iv: Uint8Array,
  data: Uint8Array,
): Uint8Array {
  if (key.length !== 32)
    throw new CdhError("ERR_CDH_DECRYPT", `key must be 32 bytes, got ${key.length}`);
  if (wrap === "A256GCM") {
    if (iv.length !== 12) throw new CdhError("ERR_CDH_DECRYPT", "A256GCM needs a 12-byte IV");
    if (data.length < 16)
      throw new CdhError("ERR_CDH_DECRYPT", "A256GCM data is shorter than its tag");
    try {
      const d = createDecipheriv("aes-256-gcm", key, iv);
      d.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]);
    } catch {
      throw new CdhError(
        "ERR_CDH_DECRYPT",
        "A256GCM authentication failed (wrong key or tampered data)",
      );
    }
  }
  if (wrap === "A256CTR") {
    if (iv.length !== 16) throw new CdhError("ERR_CDH_DECRYPT", "A256CTR needs a 16-byte IV");
    const d = createDecipheriv("aes-256-ctr", key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  }
  throw new CdhError(
    "ERR_CDH_DECRYPT",
    `unsupported wrap_type ${JSON.stringify(wrap.slice(0, 16))}`,
  );
}

/** Encrypts with A256GCM and a fresh 12-byte IV; returns ciphertext||tag and the IV. */
export function aesGcmEncrypt(
  key: Uint8Array,
  plaintext: Uint8Array,
): { data: Uint8Array; iv: Uint8Array } {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", key, iv);
  const data = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { data, iv };
}
