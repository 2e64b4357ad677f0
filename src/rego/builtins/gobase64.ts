/**
 * Go's `encoding/base64` (Std/URL, padded/raw) and `encoding/hex`, byte for byte, including
 * their error texts ("illegal base64 data at input byte N", "encoding/hex: invalid byte: …").
 * OPA's builtins and its JWT code expose those texts, and Node's decoders are lenient (they
 * skip garbage silently), so the decoder is written out here from Go's algorithm.
 */

/** Which alphabet and padding rule, as Go's four predefined encodings. */
export interface Base64Encoding {
  readonly url: boolean;
  readonly pad: boolean;
}

export const STD: Base64Encoding = { url: false, pad: true };
export const RAW_STD: Base64Encoding = { url: false, pad: false };
export const URL: Base64Encoding = { url: true, pad: true };
export const RAW_URL: Base64Encoding = { url: true, pad: false };

const STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function decodeMap(alphabet: string): Uint8Array {
  const m = new Uint8Array(256).fill(0xff);
  for (let i = 0; i < alphabet.length; i++) m[alphabet.charCodeAt(i)] = i;
  return m;
}
const STD_MAP = decodeMap(STD_ALPHABET);
const URL_MAP = decodeMap(URL_ALPHABET);
const PAD = 0x3d; // '='
const isNl = (c: number | undefined) => c === 0x0a || c === 0x0d;

/** Go's `base64.CorruptInputError`. */
export class Base64Error extends Error {
  constructor(readonly offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
  }
}

/** Encodes bytes (Go `EncodeToString`). */
export function base64Encode(enc: Base64Encoding, src: Uint8Array): string {
  const a = enc.url ? URL_ALPHABET : STD_ALPHABET;
  let out = "";
  let i = 0;
  for (; i + 2 < src.length; i += 3) {
    const v = ((src[i] as number) << 16) | ((src[i + 1] as number) << 8) | (src[i + 2] as number);
    out += a[v >> 18]! + a[(v >> 12) & 63]! + a[(v >> 6) & 63]! + a[v & 63]!;
  }
  const rest = src.length - i;
  if (rest > 0) {
    const v = ((src[i] as number) << 16) | (rest === 2 ? (src[i + 1] as number) << 8 : 0);
    out += a[v >> 18]! + a[(v >> 12) & 63]!;
    if (rest === 2) out += a[(v >> 6) & 63]!;
    if (enc.pad) out += rest === 2 ? "=" : "==";
  }
  return out;
}

/**
 * Decodes as Go's `DecodeString` does: newlines are skipped, padding is checked exactly when
 * the encoding is padded, and the first bad byte's offset is reported in a {@link Base64Error}.
 */
export function base64Decode(enc: Base64Encoding, src: Uint8Array): Uint8Array {
  const map = enc.url ? URL_MAP : STD_MAP;
  const out = new Uint8Array(Math.ceil((src.length * 3) / 4));
  let n = 0;
  let si = 0;
  const buf = [0, 0, 0, 0];
  for (;;) {
    let dlen = 4;
    let trailing: number | undefined;
    let j = 0;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return out.subarray(0, n);
        if (j === 1 || enc.pad) throw new Base64Error(si - j);
        dlen = j;
        break;
      }
      const c = src[si] as number;
      si++;
      const v = map[c] as number;
      if (v !== 0xff) {
        buf[j] = v;
        continue;
      }
      if (isNl(c)) {
        j--;
        continue;
      }
      if (!enc.pad || c !== PAD) throw new Base64Error(si - 1);
      // Padding: only after two or three data characters.
      if (j < 2) throw new Base64Error(si - 1);
      if (j === 2) {
        while (si < src.length && isNl(src[si])) si++;
        if (si === src.length) throw new Base64Error(src.length);
        if (src[si] !== PAD) throw new Base64Error(si - 1);
        si++;
      }
      while (si < src.length && isNl(src[si])) si++;
      if (si < src.length) trailing = si;
      dlen = j;
      break;
    }
    const val = (buf[0]! << 18) | (buf[1]! << 12) | (buf[2]! << 6) | buf[3]!;
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    for (let k = 0; k < dlen - 1; k++) out[n++] = bytes[k]!;
    if (trailing !== undefined) throw new Base64Error(trailing);
    buf[0] = buf[1] = buf[2] = buf[3] = 0;
    if (dlen < 4) return out.subarray(0, n);
  }
}

/** Lower-case hex of bytes (Go `hex.EncodeToString`). */
export function hexEncode(src: Uint8Array): string {
  let s = "";
  for (const b of src) s += b.toString(16).padStart(2, "0");
  return s;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Go's `%#U` of a byte read as a rune: `U+0067 'g'`, or `U+0000` when not printable. */
function goRuneText(c: number): string {
  const u = `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
  return c >= 0x20 && c < 0x7f ? `${u} '${String.fromCharCode(c)}'` : u;
}

/** Decodes hex as Go's `hex.DecodeString`, with its error texts. */
export function hexDecode(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length >> 1);
  let i = 0;
  for (; i + 1 < src.length; i += 2) {
    const a = hexVal(src[i] as number);
    if (a < 0) throw new Error(`encoding/hex: invalid byte: ${goRuneText(src[i] as number)}`);
    const b = hexVal(src[i + 1] as number);
    if (b < 0) throw new Error(`encoding/hex: invalid byte: ${goRuneText(src[i + 1] as number)}`);
    out[i >> 1] = (a << 4) | b;
  }
  if (src.length % 2 === 1) {
    if (hexVal(src[i] as number) < 0) {
      throw new Error(`encoding/hex: invalid byte: ${goRuneText(src[i] as number)}`);
    }
    throw new Error("encoding/hex: odd length hex string");
  }
  return out;
}

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 bytes of a string (Go's `[]byte(s)`). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * A Go string from bytes. Invalid UTF-8 becomes U+FFFD one byte at a time, as Go's
 * `utf8.DecodeRune` (and so OPA's JSON output) does; WHATWG decoding would merge a truncated
 * sequence into a single U+FFFD.
 */
export function fromUtf8(b: Uint8Array): string {
  try {
    return strict.decode(b);
  } catch {
    let out = "";
    let i = 0;
    while (i < b.length) {
      const c = b[i] as number;
      const need =
        c < 0x80
          ? 0
          : c >= 0xc2 && c <= 0xdf
            ? 1
            : c >= 0xe0 && c <= 0xef
              ? 2
              : c >= 0xf0 && c <= 0xf4
                ? 3
                : -1;
      if (need === 0) {
        out += String.fromCharCode(c);
        i++;
        continue;
      }
      let cp = need === 1 ? c & 0x1f : need === 2 ? c & 0x0f : c & 0x07;
      let ok = need > 0 && i + need < b.length;
      for (let k = 1; ok && k <= need; k++) {
        const x = b[i + k];
        if (x === undefined || (x & 0xc0) !== 0x80) ok = false;
        else cp = (cp << 6) | (x & 0x3f);
      }
      // Overlong forms, surrogates and values past U+10FFFF are invalid too.
      const min = need === 1 ? 0x80 : need === 2 ? 0x800 : 0x10000;
      if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
      if (ok) {
        out += String.fromCodePoint(cp);
        i += need + 1;
      } else {
        out += "\ufffd";
        i++;
      }
    }
    return out;
  }
}
