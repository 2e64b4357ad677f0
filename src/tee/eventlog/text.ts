import { EvidenceError } from "../common/errors.js";

const decUtf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const decUtf8Lossy = new TextDecoder("utf-8", { ignoreBOM: true });
const decUtf16Strict = new TextDecoder("utf-16le", { fatal: true, ignoreBOM: true });
const decUtf16Lossy = new TextDecoder("utf-16le", { ignoreBOM: true });

/** UTF-8 decode that fails like Rust's `String::from_utf8`. */
export function utf8(b: Uint8Array, what: string): string {
  try {
    return decUtf8Strict.decode(b);
  } catch (cause) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `${what} is not valid UTF-8`, { cause });
  }
}

/** UTF-8 decode replacing invalid sequences, like `String::from_utf8_lossy`. */
export function utf8Lossy(b: Uint8Array): string {
  return decUtf8Lossy.decode(b);
}

/** UTF-8 decode or undefined, for parsers that fall back on failure. */
export function utf8OrUndefined(b: Uint8Array): string | undefined {
  try {
    return decUtf8Strict.decode(b);
  } catch {
    return undefined;
  }
}

/** UTF-16LE decode that fails on unpaired surrogates, like `String::from_utf16`. */
export function utf16(b: Uint8Array, what: string): string {
  try {
    return decUtf16Strict.decode(b.subarray(0, b.length - (b.length % 2)));
  } catch (cause) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `${what} is not valid UTF-16`, { cause });
  }
}

/** UTF-16LE decode replacing unpaired surrogates, like `String::from_utf16_lossy`. */
export function utf16Lossy(b: Uint8Array): string {
  return decUtf16Lossy.decode(b.subarray(0, b.length - (b.length % 2)));
}
