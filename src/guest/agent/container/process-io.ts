import type { Readable, Writable } from "node:stream";
import { AgentError } from "../errors.js";

/** Largest chunk one ReadStdout/ReadStderr returns. */
export const MAX_READ = 1 << 20;

/** Most output buffered per stream before the pipe is paused (back-pressure to the workload). */
export const MAX_BUFFERED = 4 << 20;

/**
 * One output stream of a container process, read by ReadStdout/ReadStderr in chunks of at most
 * `len` bytes. A read waits for data; after the pipe closes and the buffer empties, reads fail
 * with ERR_AGENT_EOF (the shim's cue that the stream ended).
 */
export class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private waiters: (() => void)[] = [];
  private readonly source: Readable;

  constructor(source: Readable) {
    this.source = source;
    source.on("data", (c: Buffer) => {
      this.chunks.push(c);
      this.size += c.length;
      if (this.size >= MAX_BUFFERED) source.pause();
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    source.once("end", end);
    source.once("close", end);
    source.once("error", end);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** True once the pipe closed and everything was read. */
  get done(): boolean {
    return this.ended && this.size === 0;
  }

  /** Reads up to `len` bytes (up to 1 MiB when `len` is 0), waiting for data. */
  async read(len: number): Promise<Uint8Array> {
    while (this.size === 0) {
      if (this.ended) throw new AgentError("ERR_AGENT_EOF", "EOF");
      await new Promise<void>((r) => this.waiters.push(r));
    }
    // At most 1 MiB per read, whatever was asked: the answer must fit a 4 MiB ttrpc frame.
    const want = Math.min(len > 0 ? len : MAX_READ, MAX_READ, this.size);
    // Take whole chunks from the front (no copy of the rest of the buffer on every read).
    const parts: Buffer[] = [];
    let taken = 0;
    while (taken < want) {
      const head = this.chunks[0]!;
      const n = Math.min(head.length, want - taken);
      parts.push(head.subarray(0, n));
      if (n === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
      taken += n;
    }
    this.size -= taken;
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (this.size < MAX_BUFFERED && this.source.isPaused()) this.source.resume();
    return new Uint8Array(out);
  }

  /** Waits until the stream has ended and returns everything left (for tests and `coco logs`). */
  async readAll(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      try {
        parts.push(await this.read(0));
      } catch (err) {
        if ((err as AgentError).code === "ERR_AGENT_EOF") break;
        throw err;
      }
    }
    return Buffer.concat(parts);
  }
}

/** stdin of a container process. */
export class InputPipe {
  private closed = false;
  private readonly sink: Writable;

  constructor(sink: Writable) {
    this.sink = sink;
    sink.on("error", () => {
      this.closed = true;
    });
  }

  /** Writes `data`, returning how many bytes were accepted. */
  async write(data: Uint8Array): Promise<number> {
    if (this.closed) throw new AgentError("ERR_AGENT_BAD_STATE", "stdin is closed");
    await new Promise<void>((resolve, reject) =>
      this.sink.write(data, (err) => (err ? reject(err) : resolve())),
    );
    return data.length;
  }

  /** Closes stdin (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.end();
  }
}
