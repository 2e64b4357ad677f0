/**
 * Keyprovider `UnWrapKey` for image decryption (CDH hub/src/image + ocicrypt keyprovider
 * protocol): the input names an AnnotationPacket (v1 or v2) whose `wrapped_data` is the layer
 * key (PLBCO) wrapped under a KEK; provider `kbs` fetches the KEK at `kid` from Trustee.
 * Output `{"keyunwrapresults":{"optsdata":[<byte numbers>]}}` (Rust Vec<u8> encoding, QUIRK).
 */
import { parseResourceUri } from "../../../protocol/resource-uri/index.js";
import { CdhError } from "../errors.js";
import type { ResourceGetter } from "../kbc/types.js";
import { aesDecrypt } from "../secret/aes.js";

/** An AnnotationPacket (v2 fields; v1 lacks version/provider/maps, which default). */
export interface AnnotationPacket {
  version: string;
  kid: string;
  wrapped_data: string;
  provider: string;
  iv?: string;
  wrap_type?: string;
  provider_settings: Record<string, unknown>;
  annotations: Record<string, unknown>;
}

const MAX_INPUT = 1 << 20;

function fail(msg: string): never {
  throw new CdhError("ERR_CDH_KEYPROVIDER", msg);
}

/** Bytes from a JSON field that is base64 std text (Go) or a number array (Rust). */
function bytesField(v: unknown, what: string): Uint8Array {
  if (typeof v === "string") return Buffer.from(v, "base64");
  if (
    Array.isArray(v) &&
    v.length <= MAX_INPUT &&
    v.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)
  ) {
    return Uint8Array.from(v as number[]);
  }
  return fail(`${what} must be base64 text or an array of bytes`);
}

/** Parses an AnnotationPacket JSON (v1 or v2). */
export function parseAnnotationPacket(bytes: Uint8Array): AnnotationPacket {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    fail("annotation packet is not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    fail("annotation packet must be an object");
  const o = v as Record<string, unknown>;
  const s = (k: string, def?: string): string => {
    const x = o[k] ?? def;
    if (typeof x !== "string") fail(`annotation packet ${k} must be a string`);
    return x;
  };
  const m = (k: string): Record<string, unknown> => {
    const x = o[k] ?? {};
    if (typeof x !== "object" || x === null || Array.isArray(x))
      fail(`annotation packet ${k} must be an object`);
    return x as Record<string, unknown>;
  };
  const p: AnnotationPacket = {
    version: s("version", "0.1.0"),
    kid: s("kid"),
    wrapped_data: s("wrapped_data"),
    provider: s("provider", "kbs"),
    provider_settings: m("provider_settings"),
    annotations: m("annotations"),
  };
  if (o.iv !== undefined && o.iv !== null) p.iv = s("iv");
  if (o.wrap_type !== undefined && o.wrap_type !== null) p.wrap_type = s("wrap_type");
  return p;
}

/** Unwraps the layer key of an AnnotationPacket using `getter` for the KEK. */
export async function unwrapAnnotationPacket(
  packet: AnnotationPacket,
  getter: ResourceGetter,
): Promise<Uint8Array> {
  if (packet.provider.toLowerCase() !== "kbs") {
    throw new CdhError(
      "ERR_CDH_KMS_UNSUPPORTED",
      `annotation provider ${JSON.stringify(packet.provider.slice(0, 32))} is not implemented in coco-ts`,
    );
  }
  if (packet.iv === undefined || packet.wrap_type === undefined)
    fail("a kbs annotation packet needs iv and wrap_type");
  // Upstream's v1 test packet carries kid "kbs:///kbs:///default/key/1"; accept the doubled
  // scheme by using the innermost URI.
  const kid = packet.kid.replace(/^(kbs:\/\/\/)+(?=kbs)/, "");
  const kek = await getter.getResource(parseResourceUri(kid));
  return aesDecrypt(
    packet.wrap_type,
    kek,
    Buffer.from(packet.iv, "base64"),
    Buffer.from(packet.wrapped_data, "base64"),
  );
}

/**
 * Handles a keyprovider `UnWrapKey` input (JSON bytes) and returns the output JSON bytes.
 * Exported for image decryption, which calls it in-process or over ttrpc.
 */
export async function handleUnwrapKey(
  input: Uint8Array,
  getter: ResourceGetter,
): Promise<Uint8Array> {
  if (input.length > MAX_INPUT) fail(`keyprovider input over ${MAX_INPUT} bytes`);
  let req: Record<string, unknown>;
  try {
    req = JSON.parse(Buffer.from(input).toString("utf8")) as Record<string, unknown>;
  } catch {
    return fail("[ERROR] UnwrapKey Parse request failed: not JSON");
  }
  if (typeof req !== "object" || req === null)
    fail("[ERROR] UnwrapKey Parse request failed: not an object");
  if (req.op !== "keyunwrap") fail(`keyprovider op must be keyunwrap`);
  const params = req.keyunwrapparams as Record<string, unknown> | undefined;
  if (typeof params !== "object" || params === null) fail("keyunwrapparams is missing");
  const annotation = bytesField(params.annotation, "keyunwrapparams.annotation");
  const key = await unwrapAnnotationPacket(parseAnnotationPacket(annotation), getter);
  return Buffer.from(JSON.stringify({ keyunwrapresults: { optsdata: [...key] } }));
}
