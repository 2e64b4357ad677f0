import { TtrpcError } from "./errors.js";

/** ttrpc message header: length u32 BE | stream id u32 BE | type u8 | flags u8 (containerd ttrpc PROTOCOL.md). */
export const HEADER_LENGTH = 10;
/** Largest payload a peer may send (4 MiB, `messageLengthMax` in containerd/ttrpc and ttrpc-rust). */
export const MAX_PAYLOAD = 4 << 20;

/** Frame types. */
export const FrameType = { REQUEST: 1, RESPONSE: 2, DATA: 3 } as const;
/** A frame type value. */
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

/** One ttrpc frame. */
export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  payload: Uint8Array;
}

/** Serializes one frame (header + payload); refuses payloads over {@link MAX_PAYLOAD}. */
export function encodeFrame(frame: Frame): Uint8Array {
  if (frame.payload.length > MAX_PAYLOAD) {
    throw new TtrpcError(
      "ERR_TTRPC_FRAME_TOO_LARGE",
      `ttrpc payload of ${frame.payload.length} bytes exceeds the ${MAX_PAYLOAD}-byte limit`,
    );
  }
  // From Node's Buffer pool (a slice of a shared 8 KiB block for small frames): a fresh
  // ArrayBuffer per frame costs more than the encoding itself. Every byte is written below.
  const out = Buffer.allocUnsafe(HEADER_LENGTH + frame.payload.length);
  out.writeUInt32BE(frame.payload.length, 0);
  out.writeUInt32BE(frame.streamId >>> 0, 4);
  out[8] = frame.type & 0xff;
  out[9] = frame.flags & 0xff;
  out.set(frame.payload, HEADER_LENGTH);
  return out;
}

/**
 * Parses exactly one complete frame from `bytes` (header + payload, nothing more). Used for
 * tests and one-shot decoding; streams use {@link FrameDecoder}.
 */
export function parseFrame(bytes: Uint8Array): Frame {
  if (bytes.length < HEADER_LENGTH) {
    throw new TtrpcError(
      "ERR_TTRPC_FRAME_TRUNCATED",
      `ttrpc frame is ${bytes.length} bytes, shorter than the 10-byte header`,
    );
  }
  const dec = new FrameDecoder();
  const frames = dec.push(bytes);
  if (frames.length !== 1 || dec.buffered() !== 0) {
    if (frames.length === 0) {
      throw new TtrpcError("ERR_TTRPC_FRAME_TRUNCATED", "ttrpc frame payload is truncated");
    }
    throw new TtrpcError("ERR_TTRPC_BAD_FRAME", "trailing bytes after the ttrpc frame");
  }
  return frames[0] as Frame;
}

/**
 * Incremental frame decoder for a byte stream. `push` returns every frame completed by the
 * chunk; an oversized length field throws before any payload is buffered, so a peer cannot
 * make us allocate more than {@link MAX_PAYLOAD} + header per connection.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private readonly maxPayload: number;

  constructor(maxPayload: number = MAX_PAYLOAD) {
    this.maxPayload = maxPayload;
  }

  /** Bytes held that do not yet form a complete frame. */
  buffered(): number {
    return this.size;
  }

  /**
   * Feeds bytes and returns the frames they complete. A frame's payload may be a view of
   * `chunk` (no copy), so the caller must not write to `chunk` afterwards (a socket's `data`
   * chunks are never reused).
   */
  push(chunk: Uint8Array): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.size < HEADER_LENGTH) return frames;
      const head = this.peek(HEADER_LENGTH);
      const view = new DataView(head.buffer, head.byteOffset, HEADER_LENGTH);
      const length = view.getUint32(0, false);
      if (length > this.maxPayload) {
        throw new TtrpcError(
          "ERR_TTRPC_FRAME_TOO_LARGE",
          `ttrpc frame announces ${length} payload bytes, over the ${this.maxPayload}-byte limit`,
        );
      }
      if (this.size < HEADER_LENGTH + length) return frames;
      const all = this.take(HEADER_LENGTH + length);
      frames.push({
        streamId: view.getUint32(4, false),
        type: head[8] as number,
        flags: head[9] as number,
        payload: all.subarray(HEADER_LENGTH),
      });
    }
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array;
    if (first.length >= n) return first.subarray(0, n);
    return this.concat().subarray(0, n);
  }

  private concat(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0] as Uint8Array;
    const joined = new Uint8Array(this.size);
    let off = 0;
    for (const c of this.chunks) {
      joined.set(c, off);
      off += c.length;
    }
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Uint8Array {
    const all = this.concat();
    // A view, not a copy: every chunk is a buffer of its own (a socket read's, or the one
    // `concat` joined), never written to again.
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    return out;
  }
}
