/**
 * A single-producer, single-consumer byte ring in shared memory, for handing a layer's tar
 * stream from the pulling thread to the unpacking worker without a message or an allocation per
 * chunk. The producer (main thread) never blocks its event loop: it waits for space with
 * `Atomics.waitAsync`. The consumer (worker) blocks with `Atomics.wait`, since waiting for bytes
 * is all it has to do.
 *
 * Positions are byte counts modulo 2^32 kept in an Int32Array; the capacity is a power of two,
 * so `pos % capacity` stays right across the wrap and `(w - r) >>> 0` is the fill.
 */

// ES2024's Atomics.waitAsync (in Node since 16); typed here while the build's lib is ES2023.
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: unknown };
  }
).waitAsync;

const WPOS = 0;
const RPOS = 1;
const STATE = 2;
/**
 * Bumped by the producer with every wake-up of the consumer (data, close, abort), and by the
 * consumer with every wake-up of the producer (space freed, failure). Each side waits on the
 * other's counter as it loaded it before looking at the ring, so a close or a failure between
 * the look and the wait is never missed (waiting on a position alone could sleep forever: a
 * close does not move it).
 */
const CWAKE = 3;
const PWAKE = 4;
const CONTROL_INTS = 5;

/** Ring states (written by the side that changes them). */
export const RING_OPEN = 0;
export const RING_CLOSED = 1; // producer: no more bytes
export const RING_ABORTED = 2; // producer: give up, discard what is left
export const RING_FAILED = 3; // consumer: stopped with an error (reported by message)

/** The shared memory of one ring: pass both buffers to the worker. */
export interface RingBuffers {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/** Allocates a ring of `capacity` bytes (a power of two). */
export function createRingBuffers(capacity = 8 << 20): RingBuffers {
  if (capacity <= 0 || (capacity & (capacity - 1)) !== 0 || capacity > 1 << 30) {
    throw new RangeError("ring capacity must be a power of two up to 1 GiB");
  }
  return {
    control: new SharedArrayBuffer(CONTROL_INTS * 4),
    data: new SharedArrayBuffer(capacity),
  };
}

/** Producer side: write bytes in order, then close or abort. */
export class RingWriter {
  readonly #ctl: Int32Array;
  readonly #data: Uint8Array;
  readonly #cap: number;
  #w = 0;

  constructor(b: RingBuffers) {
    this.#ctl = new Int32Array(b.control);
    this.#data = new Uint8Array(b.data);
    this.#cap = this.#data.length;
  }

  /** Empties the ring for a new stream (only while the consumer is not reading). */
  reset(): void {
    this.#w = 0;
    for (let i = 0; i < CONTROL_INTS; i++) Atomics.store(this.#ctl, i, 0);
    Atomics.store(this.#ctl, STATE, RING_OPEN);
  }

  #wakeConsumer(): void {
    Atomics.add(this.#ctl, CWAKE, 1);
    Atomics.notify(this.#ctl, CWAKE);
  }

  /** The consumer's state: RING_FAILED means it stopped and will not read further. */
  state(): number {
    return Atomics.load(this.#ctl, STATE);
  }

  /**
   * Copies `chunk` into the ring, waiting (without blocking the event loop) while it is full.
   * Returns false, leaving the rest unwritten, when the consumer has failed or the ring was
   * aborted.
   */
  async write(chunk: Uint8Array): Promise<boolean> {
    let off = 0;
    while (off < chunk.length) {
      const seen = Atomics.load(this.#ctl, PWAKE);
      const st = Atomics.load(this.#ctl, STATE);
      if (st !== RING_OPEN) return false;
      const r = Atomics.load(this.#ctl, RPOS);
      const free = this.#cap - ((this.#w - r) >>> 0);
      if (free === 0) {
        const waited = waitAsync(this.#ctl, PWAKE, seen);
        if (waited.async) await waited.value;
        continue;
      }
      const at = (this.#w >>> 0) % this.#cap;
      const n = Math.min(free, this.#cap - at, chunk.length - off);
      this.#data.set(chunk.subarray(off, off + n), at);
      off += n;
      this.#w = (this.#w + n) | 0;
      Atomics.store(this.#ctl, WPOS, this.#w);
      // Wake a sleeping consumer only once a quarter of the ring is filled (or on close): one
      // wake-up per few MiB instead of one per chunk, which costs a context switch each.
      if (free - n <= this.#cap - (this.#cap >>> 2)) this.#wakeConsumer();
    }
    return true;
  }

  /** Marks the end of the stream (after the last write). */
  close(): void {
    Atomics.compareExchange(this.#ctl, STATE, RING_OPEN, RING_CLOSED);
    this.#wakeConsumer();
  }

  /** Marks the consumer as gone (its thread died): wakes and stops a waiting `write`. */
  interrupt(): void {
    Atomics.store(this.#ctl, STATE, RING_FAILED);
    wakeProducer(this.#ctl);
  }

  /** Tells the consumer to stop and discard the stream. */
  abort(): void {
    Atomics.compareExchange(this.#ctl, STATE, RING_OPEN, RING_ABORTED);
    Atomics.compareExchange(this.#ctl, STATE, RING_CLOSED, RING_ABORTED);
    this.#wakeConsumer();
  }
}

function wakeProducer(ctl: Int32Array): void {
  Atomics.add(ctl, PWAKE, 1);
  Atomics.notify(ctl, PWAKE);
}

/**
 * Consumer side: feeds every byte of the stream to `push` in order, blocking while the ring is
 * empty. Returns "closed" after the last byte, or "aborted" when the producer gave up. If
 * `push` throws, the ring is marked failed (so the producer stops writing) and the error is
 * rethrown.
 */
export function drainRing(b: RingBuffers, push: (bytes: Uint8Array) => void): "closed" | "aborted" {
  const ctl = new Int32Array(b.control);
  const data = new Uint8Array(b.data);
  const cap = data.length;
  let r = Atomics.load(ctl, RPOS);
  let freed = 0;
  for (;;) {
    const seen = Atomics.load(ctl, CWAKE);
    const w = Atomics.load(ctl, WPOS);
    if (w === r) {
      const st = Atomics.load(ctl, STATE);
      if (st === RING_ABORTED) return "aborted";
      // The producer stores its last position before closing: look again once closed.
      if (st === RING_CLOSED) {
        if (Atomics.load(ctl, WPOS) === r) return "closed";
        continue;
      }
      Atomics.wait(ctl, CWAKE, seen);
      continue;
    }
    if (Atomics.load(ctl, STATE) === RING_ABORTED) return "aborted";
    const at = (r >>> 0) % cap;
    const n = Math.min((w - r) >>> 0, cap - at);
    try {
      push(data.subarray(at, at + n));
    } catch (err) {
      Atomics.store(ctl, STATE, RING_FAILED);
      wakeProducer(ctl);
      throw err;
    }
    r = (r + n) | 0;
    Atomics.store(ctl, RPOS, r);
    // Likewise a producer waiting for space is woken per quarter ring consumed.
    freed += n;
    if (freed >= cap >>> 2) {
      freed = 0;
      wakeProducer(ctl);
    }
  }
}
