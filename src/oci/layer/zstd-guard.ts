/**
 * A streaming walk over zstd frame headers (RFC 8878 §3.1) that refuses frames whose window
 * (or single-segment content size) exceeds a limit before the decoder allocates it: a decoder
 * allocates the declared window up front, so a 2 GB window in a 20-byte layer would be a
 * memory bomb. The default limit is zstd's own decoder default (2^27 = 128 MiB), which
 * decompress.ts also sets in libzstd (`ZSTD_d_windowLogMax`); this walk names the frame and
 * the window in a coded error, and does not depend on how a decoder is configured.
 */
import { OciError } from "../errors.js";

/** zstd's default maximum window for decompression (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27). */
export const ZSTD_MAX_WINDOW = 1 << 27;

const MAGIC = 0xfd2fb528;

type State = "magic" | "fhd" | "header" | "block" | "skip" | "skipsize" | "end";

/** Feeds compressed bytes through {@link ZstdGuard.feed}; throws ERR_OCI_DECOMPRESS on a violation. */
export class ZstdGuard {
  #state: State = "magic";
  #need = 4;
  #buf: number[] = [];
  #skip = 0;
  #fhd = 0;
  #checksum = false;
  #afterSkip: State = "magic";
  readonly #limit: number;

  constructor(limit = ZSTD_MAX_WINDOW) {
    this.#limit = limit;
  }

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === "skip") {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        if (this.#skip === 0) this.#enter(this.#afterSkip);
        continue;
      }
      this.#buf.push(chunk[i++]!);
      if (this.#buf.length < this.#need) continue;
      const b = this.#buf;
      this.#buf = [];
      this.#step(b);
    }
  }

  #enter(s: State): void {
    this.#state = s;
    this.#need = s === "fhd" ? 1 : s === "block" ? 3 : 4;
  }

  #step(b: number[]): void {
    const fail = (why: string): never => {
      throw new OciError("ERR_OCI_DECOMPRESS", `zstd: ${why}`);
    };
    switch (this.#state) {
      case "magic": {
        const m = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        if (m === MAGIC) this.#enter("fhd");
        else if ((m & 0xfffffff0) === 0x184d2a50) this.#enter("skipsize");
        else fail("bad frame magic");
        return;
      }
      case "skipsize": {
        this.#skip = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        this.#afterSkip = "magic";
        if (this.#skip === 0) this.#enter("magic");
        else this.#state = "skip";
        return;
      }
      case "fhd": {
        const d = b[0]!;
        if ((d & 0x08) !== 0) fail("reserved frame header bit set");
        this.#fhd = d;
        this.#checksum = (d & 0x04) !== 0;
        const single = (d & 0x20) !== 0;
        const fcsFlag = d >> 6;
        const fcsBytes = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
        const didBytes = [0, 1, 2, 4][d & 3]!;
        this.#state = "header";
        this.#need = (single ? 0 : 1) + didBytes + fcsBytes;
        if (this.#need === 0) this.#enter("block");
        return;
      }
      case "header": {
        const d = this.#fhd;
        const single = (d & 0x20) !== 0;
        let off = 0;
        let window = 0;
        if (!single) {
          const wd = b[off++]!;
          const log = 10 + (wd >> 3);
          const base = 2 ** log;
          window = base + (base / 8) * (wd & 7);
        }
        off += [0, 1, 2, 4][d & 3]!;
        const fcsBytes = b.length - off;
        let fcs = 0;
        for (let k = fcsBytes - 1; k >= 0; k--) fcs = fcs * 256 + b[off + k]!;
        if (fcsBytes === 2) fcs += 256;
        if (single) window = fcs;
        if (window > this.#limit)
          fail(`frame window of ${window} bytes exceeds the ${this.#limit}-byte limit`);
        this.#enter("block");
        return;
      }
      case "block": {
        const h = b[0]! | (b[1]! << 8) | (b[2]! << 16);
        const last = (h & 1) === 1;
        const type = (h >> 1) & 3;
        const size = h >>> 3;
        if (type === 3) fail("reserved block type");
        this.#skip = type === 1 ? 1 : size;
        this.#afterSkip = last ? (this.#checksum ? "end" : "magic") : "block";
        if (this.#skip === 0) this.#enter(this.#afterSkip);
        else this.#state = "skip";
        return;
      }
      case "end":
        // The 4-byte content checksum after the last block.
        this.#enter("magic");
        return;
    }
  }
}
