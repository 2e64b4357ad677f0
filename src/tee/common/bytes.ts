import { EvidenceError } from "./errors.js";

/**
 * A bounds-checked little-endian reader over untrusted bytes. Every read past the end throws
 * ERR_EVIDENCE_TRUNCATED naming the field and offset, so parsers never index out of range.
 */
export class ByteReader {
  private readonly view: DataView;
  /** Current read position. */
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
    start = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  /** Bytes left after the current position. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Throws ERR_EVIDENCE_TRUNCATED unless `n` bytes are available. */
  need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.bytes.length) {
      throw new EvidenceError(
        "ERR_EVIDENCE_TRUNCATED",
        `${this.what}: ${field} needs ${n} bytes but only ${Math.max(0, this.remaining)} remain`,
        { offset: this.pos },
      );
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.pos++);
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A view (not a copy) of the next `n` bytes. */
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }
}

/** A fixed field of a binary layout: byte offset and length, with its spec section in a comment. */
export interface Field {
  readonly offset: number;
  readonly length: number;
}

/** The bytes of `field` inside `buf` (a view; the caller has checked `buf` is long enough). */
export function slice(buf: Uint8Array, field: Field): Uint8Array {
  return buf.subarray(field.offset, field.offset + field.length);
}

/** Lowercase hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** Parses a hex string (even length, 0-9a-f either case) or throws ERR_EVIDENCE_MALFORMED. */
export function fromHex(s: string, what: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `${what} is not a hex string`);
  }
  return new Uint8Array(Buffer.from(s, "hex"));
}

/** Standard or URL-safe base64 (padding optional) to bytes, or ERR_EVIDENCE_MALFORMED. */
export function fromBase64(s: unknown, what: string): Uint8Array {
  if (typeof s !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `${what} is not base64`);
  }
  return new Uint8Array(Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}

/** Standard base64 with padding. */
export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

/**
 * Zero-pads on the right or truncates `data` to `size` bytes — upstream's `regularize_data`,
 * applied to an expected report-data or init-data digest before comparing it with a TEE field.
 */
export function regularize(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(data.subarray(0, size));
  return out;
}

/** Little-endian bytes to a big-endian fixed-length integer encoding (ECDSA r/s conversion). */
export function leToBe(le: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[size - 1 - i] = le[i] ?? 0;
  return out;
}
