/**
 * Cosign (sigstore) key-based signatures stored as registry attachments: the manifest tagged
 * `sha256-<hex>.sig` lists simple-signing payload layers, each with its base64 signature in the
 * `dev.cosignproject.cosign/signature` annotation. Verification uses node:crypto only.
 */
import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from "node:crypto";
import type { ImageDestination } from "../destination.js";
import { parseDigest, sha256Digest } from "../digest.js";
import { OciError } from "../errors.js";
import { type Descriptor, parseManifestOrIndex } from "../manifest.js";
import { MediaType } from "../media-types.js";
import type { ImageSource } from "../source.js";
import { createPayload, parsePayload, type SignaturePayload } from "./payload.js";

/** Annotation carrying the base64 signature of a cosign payload layer. */
export const COSIGN_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";

/** A cosign signature as fetched: payload bytes and raw signature. */
export interface CosignSignature {
  payload: Uint8Array;
  signature: Uint8Array;
}

/** The attachment tag for a manifest digest: `sha256-<hex>.sig`. */
export function cosignSignatureTag(manifestDigest: string): string {
  const d = parseDigest(manifestDigest);
  return `${d.algorithm}-${d.hex}.sig`;
}

/** Reads a public key PEM for cosign verification. */
export function loadCosignPublicKey(bytes: Uint8Array): KeyObject {
  try {
    return createPublicKey(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw new OciError("ERR_OCI_SIGNATURE", "cosign public key is not a PEM public key", {
      cause: err,
    });
  }
}

function hashFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === "ed25519") return null;
  if (key.asymmetricKeyType === "ec") {
    const c = key.asymmetricKeyDetails?.namedCurve;
    return c === "secp384r1" ? "sha384" : c === "secp521r1" ? "sha512" : "sha256";
  }
  return "sha256";
}

/** Fetches the signatures attached to a manifest digest ([] when there is no attachment). */
export async function fetchCosignSignatures(
  source: ImageSource,
  manifestDigest: string,
): Promise<CosignSignature[]> {
  let fetched: Awaited<ReturnType<ImageSource["getManifest"]>>;
  try {
    fetched = await source.getManifest(cosignSignatureTag(manifestDigest));
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_OCI_NOT_FOUND") return [];
    throw err;
  }
  const m = parseManifestOrIndex(fetched.bytes, fetched.mediaType);
  if (m.kind !== "manifest")
    throw new OciError("ERR_OCI_SIGNATURE", "cosign signature attachment is not an image manifest");
  const out: CosignSignature[] = [];
  for (const l of m.layers.slice(0, 64)) {
    if (l.mediaType !== MediaType.cosignSimpleSigning) continue;
    const sig = l.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
    if (sig === undefined) continue;
    const payload = await source.getBlobBytes(l.digest, 1024 * 1024);
    out.push({ payload, signature: Buffer.from(sig.replace(/\s+/g, ""), "base64") });
  }
  return out;
}

/** Verifies one cosign signature with a public key; returns its payload. */
export function verifyCosignSignature(s: CosignSignature, key: KeyObject): SignaturePayload {
  let ok = false;
  try {
    ok = cryptoVerify(hashFor(key), s.payload, key, s.signature);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new OciError(
      "ERR_OCI_SIGNATURE",
      "cosign signature does not verify with the policy's public key",
    );
  return parsePayload(s.payload, [
    "cosign container image signature",
    "atomic container signature",
  ]);
}

/** Loads a cosign signing key: a PEM private key (PKCS#8/SEC1) or cosign's encrypted key format. */
export function loadCosignPrivateKey(bytes: Uint8Array, password?: string): KeyObject {
  const text = Buffer.from(bytes).toString("utf8");
  if (
    text.includes("ENCRYPTED SIGSTORE PRIVATE KEY") ||
    text.includes("ENCRYPTED COSIGN PRIVATE KEY")
  ) {
    return decryptCosignKey(text, password ?? "");
  }
  try {
    return createPrivateKey(text);
  } catch (err) {
    throw new OciError("ERR_OCI_SIGNATURE", "cosign private key is not a PEM private key", {
      cause: err,
    });
  }
}

import { decryptCosignKey } from "./cosign-key.js";

/** Signs `manifestDigest` for `dockerReference` and attaches the signature (cosign layout). */
export async function attachCosignSignature(
  dest: ImageDestination,
  existing: ImageSource | undefined,
  dockerReference: string,
  manifestDigest: string,
  key: KeyObject,
): Promise<string> {
  const payload = createPayload(
    dockerReference,
    manifestDigest,
    "cosign container image signature",
  );
  const signature = cryptoSign(hashFor(key), payload, key).toString("base64");
  const layers: Descriptor[] = [];
  // Keep signatures already attached (cosign appends).
  if (existing !== undefined) {
    try {
      const old = await existing.getManifest(cosignSignatureTag(manifestDigest));
      const m = parseManifestOrIndex(old.bytes, old.mediaType);
      if (m.kind === "manifest")
        layers.push(...m.layers.filter((l) => l.mediaType === MediaType.cosignSimpleSigning));
    } catch (err) {
      if ((err as { code?: string }).code !== "ERR_OCI_NOT_FOUND") throw err;
    }
  }
  const payloadDigest = await dest.putBlob(payload);
  layers.push({
    mediaType: MediaType.cosignSimpleSigning,
    digest: payloadDigest,
    size: payload.byteLength,
    annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signature },
  });
  const config = Buffer.from(
    JSON.stringify({
      architecture: "",
      config: {},
      created: "0001-01-01T00:00:00Z",
      history: [{ created: "0001-01-01T00:00:00Z" }],
      os: "",
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const configDigest = await dest.putBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, size: config.length, digest: configDigest },
      layers,
    }),
  );
  await dest.putManifest(manifest, MediaType.ociManifest, cosignSignatureTag(manifestDigest));
  return sha256Digest(manifest);
}
