/**
 * Image encryption for the data owner (`coco image encrypt`): each plaintext layer becomes an
 * ocicrypt AES-256-CTR-HMAC layer whose options are wrapped for JWE recipients and/or a
 * key-provider annotation (the coco_keyprovider format, KEK held by Trustee).
 */
import type { KeyObject } from "node:crypto";
import { type Readable, Transform } from "node:stream";
import type { ImageDestination } from "./destination.js";
import { createDigestVerifier, sha256Digest } from "./digest.js";
import { OciError } from "./errors.js";
import { wrapAnnotationPacket } from "./layer/kbs-annotation.js";
import { wrapJwe } from "./layer/keys.js";
import {
  ANNOTATION_KEYS_JWE,
  ANNOTATION_KEYS_PROVIDER,
  ANNOTATION_PUBOPTS,
  LayerEncryptor,
  serializePrivateOptions,
  serializePublicOptions,
} from "./layer/ocicrypt.js";
import { CONFIG_MAX_BYTES, type Descriptor } from "./manifest.js";
import { encryptedMediaType, layerKind } from "./media-types.js";
import { resolveImage } from "./pull.js";
import type { ImageSource } from "./source.js";

/** Who can decrypt. At least one recipient is required. */
export interface EncryptRecipients {
  jwe?: KeyObject[];
  /** A KEK held by Trustee under `kid`; written as the `provider.attestation-agent` annotation. */
  kbs?: { kid: string; kek: Uint8Array };
}

/** Encrypts one layer blob; returns the ciphertext and its descriptor fields. */
export async function encryptLayer(
  blob: Uint8Array,
  mediaType: string,
  r: EncryptRecipients,
): Promise<{ blob: Buffer; mediaType: string; annotations: Record<string, string> }> {
  const encType = encryptedMediaType(mediaType);
  if (encType === undefined)
    throw new OciError("ERR_OCI_ENCRYPT", `cannot encrypt media type '${mediaType.slice(0, 100)}'`);
  if ((r.jwe?.length ?? 0) === 0 && r.kbs === undefined)
    throw new OciError("ERR_OCI_ENCRYPT", "no recipients: give a JWE public key or a KBS key");
  const enc = new LayerEncryptor();
  const body = enc.update(blob);
  const hmac = enc.final();
  const plbco = serializePrivateOptions({
    symkey: enc.symkey,
    nonce: enc.nonce,
    digest: sha256Digest(blob),
  });
  const annotations: Record<string, string> = {
    [ANNOTATION_PUBOPTS]: serializePublicOptions(hmac),
  };
  if (r.jwe && r.jwe.length > 0) annotations[ANNOTATION_KEYS_JWE] = await wrapJwe(plbco, r.jwe);
  if (r.kbs) {
    annotations[`${ANNOTATION_KEYS_PROVIDER}attestation-agent`] = Buffer.from(
      wrapAnnotationPacket(plbco, r.kbs.kek, r.kbs.kid),
    ).toString("base64");
  }
  return { blob: body, mediaType: encType, annotations };
}

/** A source blob stream that fails unless it has exactly the descriptor's size and digest. */
async function verifiedBlob(source: ImageSource, d: Descriptor): Promise<Readable> {
  const blob = await source.openBlob(d);
  const check = createDigestVerifier(d.digest);
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _e, cb) {
      n += chunk.length;
      if (n > d.size) {
        cb(new OciError("ERR_OCI_TOO_LARGE", `source blob ${d.digest} exceeds its size ${d.size}`));
        return;
      }
      check.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      try {
        if (n !== d.size)
          throw new OciError(
            "ERR_OCI_DIGEST_MISMATCH",
            `source blob ${d.digest} is ${n} bytes, not ${d.size}`,
          );
        check.verify(`source blob ${d.digest}`);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  blob.once("error", (err) => t.destroy(err));
  return blob.pipe(t);
}

/**
 * Encrypts a layer as it streams (memory independent of layer size). The wrapped-key
 * annotations are ready once the ciphertext stream has ended, because the HMAC covers it all.
 */
export async function encryptLayerStream(
  blob: Readable,
  d: Descriptor,
  r: EncryptRecipients,
): Promise<{
  ciphertext: Readable;
  mediaType: string;
  annotations: () => Promise<Record<string, string>>;
}> {
  const encType = encryptedMediaType(d.mediaType);
  if (encType === undefined)
    throw new OciError(
      "ERR_OCI_ENCRYPT",
      `cannot encrypt media type '${d.mediaType.slice(0, 100)}'`,
    );
  if ((r.jwe?.length ?? 0) === 0 && r.kbs === undefined)
    throw new OciError("ERR_OCI_ENCRYPT", "no recipients: give a JWE public key or a KBS key");
  const enc = new LayerEncryptor();
  const check = createDigestVerifier(d.digest);
  let n = 0;
  let hmac: Buffer | undefined;
  const t = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _e, cb) {
      n += chunk.length;
      if (n > d.size) {
        cb(
          new OciError("ERR_OCI_TOO_LARGE", `source layer ${d.digest} exceeds its size ${d.size}`),
        );
        return;
      }
      check.update(chunk);
      cb(null, enc.update(chunk));
    },
    flush(cb) {
      try {
        if (n !== d.size)
          throw new OciError(
            "ERR_OCI_DIGEST_MISMATCH",
            `source layer ${d.digest} is ${n} bytes, not ${d.size}`,
          );
        // The PLBCO digest names the unencrypted blob: verified to be the descriptor's digest.
        check.verify(`source layer ${d.digest}`);
        hmac = enc.final();
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  blob.once("error", (err) => t.destroy(err));
  return {
    ciphertext: blob.pipe(t),
    mediaType: encType,
    async annotations() {
      if (hmac === undefined) throw new OciError("ERR_OCI_ENCRYPT", "layer stream did not finish");
      const plbco = serializePrivateOptions({
        symkey: enc.symkey,
        nonce: enc.nonce,
        digest: d.digest,
      });
      const out: Record<string, string> = { [ANNOTATION_PUBOPTS]: serializePublicOptions(hmac) };
      if (r.jwe && r.jwe.length > 0) out[ANNOTATION_KEYS_JWE] = await wrapJwe(plbco, r.jwe);
      if (r.kbs) {
        out[`${ANNOTATION_KEYS_PROVIDER}attestation-agent`] = Buffer.from(
          wrapAnnotationPacket(plbco, r.kbs.kek, r.kbs.kid),
        ).toString("base64");
      }
      return out;
    },
  };
}

/** Copies an image from `source` to `dest`, encrypting every plaintext layer. Returns the new manifest digest. */
export async function encryptImage(
  source: ImageSource,
  selector: string,
  dest: ImageDestination,
  tag: string,
  r: EncryptRecipients,
): Promise<string> {
  const image = await resolveImage(source, selector);
  const m = image.manifest;
  const config = await source.getBlobBytes(m.config.digest, CONFIG_MAX_BYTES);
  await dest.putBlob(config);
  const layers: Descriptor[] = [];
  for (const l of m.layers) {
    const kind = layerKind(l.mediaType);
    if (kind === undefined)
      throw new OciError(
        "ERR_OCI_MEDIA_TYPE",
        `unhandled layer media type '${l.mediaType.slice(0, 100)}'`,
      );
    if (kind.encrypted) {
      await dest.putBlobStream(await verifiedBlob(source, l));
      layers.push(l);
      continue;
    }
    const e = await encryptLayerStream(await source.openBlob(l), l, r);
    const digest = await dest.putBlobStream(e.ciphertext);
    const annotations = await e.annotations();
    layers.push({
      mediaType: e.mediaType,
      digest,
      size: l.size,
      annotations: { ...l.annotations, ...annotations },
    });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { ...m.config, mediaType: "application/vnd.oci.image.config.v1+json" },
      layers,
      ...(m.annotations ? { annotations: m.annotations } : {}),
    }),
  );
  return dest.putManifest(manifest, "application/vnd.oci.image.manifest.v1+json", tag);
}
