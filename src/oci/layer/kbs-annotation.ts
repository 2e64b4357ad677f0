/**
 * The CoCo key-provider annotation packet (coco_keyprovider / CDH "AnnotationPacket"): the
 * layer options wrapped with AES-256-GCM under a key-encryption key (KEK) that Trustee holds
 * as a resource named by `kid`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { OciError } from "../errors.js";

/** Fetches a KBS resource by URI (`kbs:///default/key/1`). */
export type GetResource = (uri: string) => Promise<Uint8Array>;

/** The packet as serialized in the annotation. */
export interface AnnotationPacket {
  version?: string;
  kid: string;
  wrapped_data: string;
  provider?: string;
  iv?: string;
  wrap_type?: string;
  provider_settings?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/** Wraps PLBCO bytes under `kek` (32 bytes); returns the packet JSON bytes as coco_keyprovider emits. */
export function wrapAnnotationPacket(plbco: Uint8Array, kek: Uint8Array, kid: string): Uint8Array {
  if (kek.length !== 32)
    throw new OciError("ERR_OCI_ENCRYPT", "the key-encryption key must be 32 bytes");
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", kek, iv);
  const body = Buffer.concat([c.update(plbco), c.final(), c.getAuthTag()]);
  return Buffer.from(
    JSON.stringify({
      kid,
      wrapped_data: body.toString("base64"),
      iv: iv.toString("base64"),
      wrap_type: "A256GCM",
    }),
  );
}

/** Parses an annotation packet (v1 or v2 shape). */
export function parseAnnotationPacket(bytes: Uint8Array): AnnotationPacket {
  let o: AnnotationPacket;
  try {
    o = JSON.parse(Buffer.from(bytes).toString("utf8")) as AnnotationPacket;
  } catch {
    throw new OciError("ERR_OCI_DECRYPT_KEY", "key-provider annotation is not JSON");
  }
  if (
    o === null ||
    typeof o !== "object" ||
    typeof o.kid !== "string" ||
    typeof o.wrapped_data !== "string"
  ) {
    throw new OciError(
      "ERR_OCI_DECRYPT_KEY",
      "key-provider annotation needs string kid and wrapped_data",
    );
  }
  return o;
}

/**
 * Unwraps a packet with the KEK fetched from Trustee by `kid` (provider `kbs`, A256GCM).
 * Other providers (KMS plugins) fail with ERR_OCI_NOT_IMPLEMENTED.
 */
export async function unwrapAnnotationPacket(
  bytes: Uint8Array,
  getResource: GetResource,
): Promise<Uint8Array> {
  const p = parseAnnotationPacket(bytes);
  if ((p.provider ?? "kbs") !== "kbs") {
    throw new OciError(
      "ERR_OCI_NOT_IMPLEMENTED",
      `key provider '${String(p.provider).slice(0, 40)}' (KMS plugins) is not supported; only 'kbs'`,
    );
  }
  if ((p.wrap_type ?? "") !== "A256GCM") {
    throw new OciError(
      "ERR_OCI_DECRYPT_KEY",
      `wrap_type '${String(p.wrap_type).slice(0, 20)}' is not supported (A256GCM)`,
    );
  }
  const iv = Buffer.from(p.iv ?? "", "base64");
  const wrapped = Buffer.from(p.wrapped_data, "base64");
  if (iv.length !== 12 || wrapped.length < 16)
    throw new OciError(
      "ERR_OCI_DECRYPT_KEY",
      "annotation iv must be 12 bytes and wrapped_data at least 16",
    );
  const kek = await getResource(p.kid);
  if (kek.length !== 32)
    throw new OciError("ERR_OCI_DECRYPT_KEY", `resource ${p.kid} is not a 32-byte key`);
  try {
    const d = createDecipheriv("aes-256-gcm", kek, iv);
    d.setAuthTag(wrapped.subarray(wrapped.length - 16));
    return Buffer.concat([d.update(wrapped.subarray(0, wrapped.length - 16)), d.final()]);
  } catch (err) {
    throw new OciError(
      "ERR_OCI_DECRYPT_KEY",
      `the key ${p.kid} does not open this layer's wrapped options`,
      { cause: err },
    );
  }
}
