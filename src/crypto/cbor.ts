/**
 * The one wrapper over `cborg` (strict CBOR, RFC 8949): decodes untrusted bytes into plain
 * values with maps kept as `Map` (CCA and COSE use integer keys), duplicate keys refused,
 * indefinite lengths, `undefined`, NaN/Infinity refused, tags only where a caller names them.
 */
import { decode, encode } from "cborg";
import { CryptoError } from "./errors.js";

/** A decoded CBOR value: maps keep their key types, byte strings are Uint8Array. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | CborValue[]
  | Map<CborValue, CborValue>
  | CborTagged;

/** A tagged item, kept as tag number + content (only for tags the caller allows). */
export interface CborTagged {
  tag: number;
  value: CborValue;
}

/** Options of {@link decodeCbor}. */
export interface CborDecodeOptions {
  /** Tag numbers to accept (their content is returned as {@link CborTagged}); others fail. */
  tags?: readonly number[];
  /** Refuse input larger than this many bytes (default 1 MiB). */
  maxBytes?: number;
}

/** True when `v` is a tagged item. */
export function isTagged(v: unknown): v is CborTagged {
  return (
    typeof v === "object" && v !== null && !(v instanceof Map) && !Array.isArray(v) && "tag" in v
  );
}

/**
 * Decodes exactly one CBOR item (trailing bytes are an error). Throws `ERR_CRYPTO_CBOR` naming
 * `what` on malformed, oversized or non-strict input.
 */
export function decodeCbor(bytes: Uint8Array, what: string, o: CborDecodeOptions = {}): CborValue {
  const max = o.maxBytes ?? 1 << 20;
  if (bytes.length > max) {
    throw new CryptoError("ERR_CRYPTO_CBOR", `${what} is ${bytes.length} bytes, limit ${max}`);
  }
  const tags: ((inner: () => unknown) => unknown)[] = [];
  for (const t of o.tags ?? []) {
    tags[t] = (inner) => ({ tag: t, value: inner() as CborValue }) satisfies CborTagged;
  }
  try {
    return decode(bytes, {
      useMaps: true,
      rejectDuplicateMapKeys: true,
      allowIndefinite: false,
      allowUndefined: false,
      allowNaN: false,
      allowInfinity: false,
      strict: true,
      tags: tags as never,
    }) as CborValue;
  } catch (cause) {
    throw new CryptoError(
      "ERR_CRYPTO_CBOR",
      `${what} is not valid CBOR: ${(cause as Error).message.replace(/^CBOR decode error: /, "")}`,
      { cause },
    );
  }
}

/** Encodes a value as CBOR (deterministic map order; used to build COSE Sig_structures). */
export function encodeCbor(value: unknown): Uint8Array {
  return encode(value);
}
