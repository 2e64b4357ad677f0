/**
 * Layer key recipients: JWE (`org.opencontainers.image.enc.keys.jwe`, RSA-OAEP or
 * ECDH-ES+A256KW with A256GCM, as Go ocicrypt/ocicrypt-rs) and key-provider annotations
 * unwrapped by an injected function (CDH's keyprovider in the guest).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { flattenedDecrypt, GeneralEncrypt, generalDecrypt } from "jose";
import { OciError } from "../errors.js";
import {
  ANNOTATION_KEYS_JWE,
  ANNOTATION_KEYS_PROVIDER,
  type PrivateLayerOptions,
  parsePrivateOptions,
} from "./ocicrypt.js";

/** Unwraps one key-provider annotation packet (decoded bytes) into PLBCO JSON bytes. */
export type ProviderUnwrap = (
  annotationPacket: Uint8Array,
  providerName: string,
) => Promise<Uint8Array>;

/** Keys the puller holds. */
export interface DecryptionKeys {
  /** JWE recipient private keys. */
  privateKeys?: KeyObject[];
  /** Key-provider unwrap (CDH → Trustee in the guest). */
  unwrap?: ProviderUnwrap;
}

/** Loads a private key from PEM (PKCS#1, PKCS#8, SEC1), DER or a JWK JSON. */
export function loadPrivateKey(bytes: Uint8Array, passphrase?: string): KeyObject {
  const text = Buffer.from(bytes).toString("utf8");
  try {
    if (text.trimStart().startsWith("{"))
      return createPrivateKey({ key: JSON.parse(text), format: "jwk" });
    if (text.includes("-----BEGIN"))
      return createPrivateKey(passphrase !== undefined ? { key: text, passphrase } : text);
    try {
      return createPrivateKey({ key: Buffer.from(bytes), format: "der", type: "pkcs8" });
    } catch {
      return createPrivateKey({ key: Buffer.from(bytes), format: "der", type: "pkcs1" });
    }
  } catch (err) {
    throw new OciError(
      "ERR_OCI_DECRYPT_KEY",
      "could not read the private key (PEM, DER or JWK expected)",
      { cause: err },
    );
  }
}

/** Loads a public key from PEM (SPKI/PKCS#1), DER or JWK; also accepts a certificate PEM. */
export function loadPublicKey(bytes: Uint8Array): KeyObject {
  const text = Buffer.from(bytes).toString("utf8");
  try {
    if (text.trimStart().startsWith("{"))
      return createPublicKey({ key: JSON.parse(text), format: "jwk" });
    if (text.includes("-----BEGIN")) return createPublicKey(text);
    return createPublicKey({ key: Buffer.from(bytes), format: "der", type: "spki" });
  } catch (err) {
    throw new OciError(
      "ERR_OCI_ENCRYPT",
      "could not read the public key (PEM, DER or JWK expected)",
      { cause: err },
    );
  }
}

function keyAlg(key: KeyObject): "RSA-OAEP" | "ECDH-ES+A256KW" {
  if (key.asymmetricKeyType === "rsa") return "RSA-OAEP";
  if (key.asymmetricKeyType === "ec") return "ECDH-ES+A256KW";
  throw new OciError(
    "ERR_OCI_ENCRYPT",
    `JWE recipients must be RSA or EC keys, not ${key.asymmetricKeyType}`,
  );
}

/** Wraps PLBCO bytes for JWE recipients; returns the annotation value (base64 of the JWE JSON). */
export async function wrapJwe(plbco: Uint8Array, recipients: KeyObject[]): Promise<string> {
  if (recipients.length === 0) throw new OciError("ERR_OCI_ENCRYPT", "no JWE recipients");
  const enc = new GeneralEncrypt(plbco).setProtectedHeader({ enc: "A256GCM" });
  for (const r of recipients) enc.addRecipient(r).setUnprotectedHeader({ alg: keyAlg(r) });
  const jwe = await enc.encrypt();
  return Buffer.from(JSON.stringify(jwe)).toString("base64");
}

async function tryJwe(entry: Buffer, keys: KeyObject[]): Promise<Uint8Array | undefined> {
  let jwe: Record<string, unknown>;
  try {
    jwe = JSON.parse(entry.toString("utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  for (const key of keys) {
    try {
      const alg = keyAlg(key);
      const opts = {
        keyManagementAlgorithms: [alg],
        contentEncryptionAlgorithms: ["A256GCM", "A128GCM", "A192GCM"],
      };
      if (Array.isArray(jwe.recipients)) {
        return (await generalDecrypt(jwe as never, key, opts)).plaintext;
      }
      return (await flattenedDecrypt(jwe as never, key, opts)).plaintext;
    } catch {
      // not this key; try the next one
    }
  }
  return undefined;
}

/**
 * Finds the layer's private options from its annotations with the keys we hold. Throws
 * ERR_OCI_DECRYPT_KEY when no recipient can be unwrapped (naming the schemes present).
 */
export async function unwrapLayerKey(
  annotations: Record<string, string> | undefined,
  keys: DecryptionKeys,
): Promise<PrivateLayerOptions> {
  const ann = annotations ?? {};
  const schemes = Object.keys(ann).filter((k) =>
    k.startsWith("org.opencontainers.image.enc.keys."),
  );
  const jwe = ann[ANNOTATION_KEYS_JWE];
  if (jwe !== undefined && keys.privateKeys !== undefined && keys.privateKeys.length > 0) {
    for (const part of jwe.split(",")) {
      const plain = await tryJwe(Buffer.from(part, "base64"), keys.privateKeys);
      if (plain !== undefined) return parsePrivateOptions(plain);
    }
  }
  if (keys.unwrap !== undefined) {
    for (const name of schemes.filter((k) => k.startsWith(ANNOTATION_KEYS_PROVIDER))) {
      for (const part of (ann[name] ?? "").split(",")) {
        if (part === "") continue;
        const plain = await keys.unwrap(
          Buffer.from(part, "base64"),
          name.slice(ANNOTATION_KEYS_PROVIDER.length),
        );
        return parsePrivateOptions(plain);
      }
    }
  }
  throw new OciError(
    "ERR_OCI_DECRYPT_KEY",
    `no configured key can unwrap this layer (recipient annotations: ${schemes.map((s) => s.slice(34)).join(", ") || "none"}; keys held: ${[keys.privateKeys?.length ? "jwe" : "", keys.unwrap ? "key-provider" : ""].filter(Boolean).join(", ") || "none"})`,
  );
}
