/**
 * UnsealSecret (CDH hub/src/secret): verify the `sealed.` JWS with the key named by `kid`
 * (a resource URI → fetched from Trustee; otherwise a file under
 * /run/confidential-containers/cdh/sealed-secret/, confined to that folder), then resolve the
 * payload: vault → read `name` from the provider; envelope → unwrap the DEK with the provider
 * and decrypt the data.
 */
import { realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { isResourceUri, parseResourceUri } from "../../../protocol/resource-uri/index.js";
import {
  type EnvelopeSecret,
  importVerificationJwk,
  parseSealedSecret,
  parseSealedSecretUnverified,
  SealedSecretError,
  type SecretPayload,
  verifySealedSecret,
} from "../../../protocol/sealed-secret/index.js";
import { CdhError } from "../errors.js";
import type { ResourceGetter } from "../kbc/types.js";
import { aesDecrypt } from "./aes.js";

/** Upstream's folder of local verification keys. */
export const SEALED_SECRET_KEY_DIR = "/run/confidential-containers/cdh/sealed-secret";

/** Options for {@link unsealSecret}. */
export interface UnsealOptions {
  getter: ResourceGetter;
  keyDir?: string;
  /** `SKIP_SEALED_SECRET_VERIFICATION=true`: ignore the signature (development only). */
  skipVerification?: boolean;
}

async function verificationKey(kid: string, opts: UnsealOptions): Promise<unknown> {
  let bytes: Uint8Array;
  if (isResourceUri(kid)) {
    bytes = await opts.getter.getResource(parseResourceUri(kid));
  } else {
    const dir = opts.keyDir ?? SEALED_SECRET_KEY_DIR;
    let path: string;
    try {
      const root = realpathSync(dir);
      path = realpathSync(resolve(root, kid));
      const rel = relative(root, path);
      if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) throw new Error("outside");
    } catch {
      throw new CdhError(
        "ERR_CDH_SECRET_KEY",
        `no verification key ${JSON.stringify(kid.slice(0, 200))} inside ${dir}`,
      );
    }
    bytes = await readFile(path);
  }
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new CdhError("ERR_CDH_SECRET_KEY", "verification key is not a JWK JSON document");
  }
}

async function openEnvelope(s: EnvelopeSecret, getter: ResourceGetter): Promise<Uint8Array> {
  const provider = s.provider.toLowerCase();
  let dek: Uint8Array;
  if (provider === "kbs") {
    // coco-ts extension (upstream has no kbs envelope decryptor): the KEK is the resource at
    // key_id; encrypted_key = std base64 of IV(12) || ciphertext || tag under that KEK.
    const kek = await getter.getResource(parseResourceUri(s.key_id));
    const wrapped = Buffer.from(s.encrypted_key, "base64");
    if (wrapped.length < 12 + 16)
      throw new CdhError("ERR_CDH_DECRYPT", "encrypted_key is too short");
    dek = aesDecrypt("A256GCM", kek, wrapped.subarray(0, 12), wrapped.subarray(12));
  } else if (provider === "aliyun" || provider === "aws" || provider === "ehsm") {
    throw new CdhError(
      "ERR_CDH_KMS_UNSUPPORTED",
      `KMS provider ${provider} is not implemented in coco-ts`,
    );
  } else {
    throw new CdhError(
      "ERR_CDH_KMS_UNSUPPORTED",
      `unknown envelope provider ${JSON.stringify(s.provider.slice(0, 32))}`,
    );
  }
  return aesDecrypt(
    s.wrap_type,
    dek,
    Buffer.from(s.iv, "base64"),
    Buffer.from(s.encrypted_data, "base64"),
  );
}

/** Resolves a verified payload to its plaintext. */
export async function resolveSecret(p: SecretPayload, getter: ResourceGetter): Promise<Uint8Array> {
  if (p.type === "vault") {
    if (p.provider.toLowerCase() !== "kbs") {
      throw new CdhError(
        "ERR_CDH_KMS_UNSUPPORTED",
        `vault provider ${JSON.stringify(p.provider.slice(0, 32))} is not implemented in coco-ts`,
      );
    }
    return getter.getResource(parseResourceUri(p.name));
  }
  return openEnvelope(p, getter);
}

/** Unseals a sealed secret string. */
export async function unsealSecret(text: string, opts: UnsealOptions): Promise<Uint8Array> {
  if (opts.skipVerification) return resolveSecret(parseSealedSecretUnverified(text), opts.getter);
  const parsed = parseSealedSecret(text);
  if (parsed.header.alg !== "ES256") {
    // Refuse before fetching any key.
    throw new SealedSecretError(
      "ERR_SEALED_ALG",
      `unsupported alg ${JSON.stringify(parsed.header.alg.slice(0, 16))}; only ES256`,
    );
  }
  const jwk = await verificationKey(parsed.header.kid, opts);
  const payload = await verifySealedSecret(parsed, importVerificationJwk(jwk));
  return resolveSecret(payload, opts.getter);
}
