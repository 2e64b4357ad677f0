/**
 * cosign's encrypted private key format (go-securesystemslib `encrypted`): a PEM block holding
 * JSON `{kdf: scrypt{N,r,p,salt}, cipher: nacl/secretbox{nonce}, ciphertext}` whose plaintext is
 * a PKCS#8 DER private key. This file is the one entry to `@noble/ciphers` (XSalsa20-Poly1305,
 * which node:crypto lacks).
 */
import { createPrivateKey, type KeyObject, scryptSync } from "node:crypto";
import { xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { OciError } from "../errors.js";

interface EncryptedKey {
  kdf?: { name?: string; params?: { N?: number; r?: number; p?: number }; salt?: string };
  cipher?: { name?: string; nonce?: string };
  ciphertext?: string;
}

/** Decrypts a cosign.key PEM with its password (never echoed in errors). */
export function decryptCosignKey(pem: string, password: string): KeyObject {
  const body = pem.replace(/-----(BEGIN|END)[^-]+-----/g, "").replace(/\s+/g, "");
  let j: EncryptedKey;
  try {
    j = JSON.parse(Buffer.from(body, "base64").toString("utf8")) as EncryptedKey;
  } catch {
    throw new OciError("ERR_OCI_SIGNATURE", "cosign key is not in the encrypted JSON format");
  }
  const N = j.kdf?.params?.N ?? 0;
  const r = j.kdf?.params?.r ?? 0;
  const p = j.kdf?.params?.p ?? 0;
  if (
    j.kdf?.name !== "scrypt" ||
    j.cipher?.name !== "nacl/secretbox" ||
    N > 1 << 20 ||
    r > 32 ||
    p > 16 ||
    N < 2
  ) {
    throw new OciError(
      "ERR_OCI_SIGNATURE",
      "cosign key uses an unsupported KDF or cipher (scrypt + nacl/secretbox expected)",
    );
  }
  const key = scryptSync(password, Buffer.from(j.kdf.salt ?? "", "base64"), 32, {
    N,
    r,
    p,
    maxmem: 256 * N * r + 1024 * 1024,
  });
  let plain: Uint8Array;
  try {
    plain = xsalsa20poly1305(key, Buffer.from(j.cipher.nonce ?? "", "base64")).decrypt(
      Buffer.from(j.ciphertext ?? "", "base64"),
    );
  } catch {
    throw new OciError(
      "ERR_OCI_SIGNATURE",
      "wrong password for the cosign key (or the key file is damaged)",
    );
  }
  try {
    return createPrivateKey({ key: Buffer.from(plain), format: "der", type: "pkcs8" });
  } catch (err) {
    throw new OciError("ERR_OCI_SIGNATURE", "cosign key does not hold a PKCS#8 private key", {
      cause: err,
    });
  }
}
