/** The "atomic container signature" payload shared by simple signing and cosign. */
import { OciError } from "../errors.js";

/** The fields a signature vouches for. */
export interface SignaturePayload {
  dockerReference: string;
  manifestDigest: string;
  type: string;
}

/** Builds a simple-signing payload (as containers/image writes it). */
export function createPayload(
  dockerReference: string,
  manifestDigest: string,
  type = "atomic container signature",
): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { "docker-reference": dockerReference },
        image: { "docker-manifest-digest": manifestDigest },
        type,
      },
      optional: { creator: "coco-ts", timestamp: Math.floor(Date.now() / 1000) },
    }),
  );
}

/** Parses and validates a payload; `types` lists accepted `critical.type` values. */
export function parsePayload(bytes: Uint8Array, types: readonly string[]): SignaturePayload {
  if (bytes.byteLength > 1024 * 1024)
    throw new OciError("ERR_OCI_SIGNATURE", "signature payload larger than 1 MiB");
  let j: {
    critical?: {
      identity?: Record<string, unknown>;
      image?: Record<string, unknown>;
      type?: unknown;
    };
  };
  try {
    j = JSON.parse(Buffer.from(bytes).toString("utf8")) as typeof j;
  } catch {
    throw new OciError("ERR_OCI_SIGNATURE", "signature payload is not JSON");
  }
  const c = j?.critical;
  const ref = c?.identity?.["docker-reference"];
  const digest = c?.image?.["docker-manifest-digest"];
  if (typeof ref !== "string" || typeof digest !== "string" || typeof c?.type !== "string") {
    throw new OciError("ERR_OCI_SIGNATURE", "signature payload lacks critical.identity/image/type");
  }
  if (!types.includes(c.type))
    throw new OciError(
      "ERR_OCI_SIGNATURE",
      `signature payload type '${c.type.slice(0, 60)}' is not accepted`,
    );
  return { dockerReference: ref, manifestDigest: digest, type: c.type };
}
