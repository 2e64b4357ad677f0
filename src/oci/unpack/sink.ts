/**
 * Where a layer's verified tar bytes go: the `LayerSink` seam and its in-process
 * implementation (our tar reader driving the synchronous applier on this thread). The worker
 * implementation (worker.ts) runs the same two classes on another thread.
 */
import { createHash } from "node:crypto";
import { LayerApplier } from "./apply.js";
import type { UnpackRules } from "./rules.js";
import { TarReader } from "./tar-reader.js";

/** What unpacking one layer did. */
export interface UnpackSummary {
  entries: number;
  warnings: string[];
  /** Hex digest of every tar byte received (the diff_id to check). */
  digest: string;
}

/**
 * Receives one layer's tar stream in order. `write` may return a promise (wait for it before
 * the next write); `end` finishes the layer; `abort` stops it and resolves once nothing more
 * will be written under the root (so the caller may remove it).
 */
export interface LayerSink {
  write(chunk: Uint8Array): void | Promise<void>;
  end(): Promise<UnpackSummary>;
  abort(): Promise<void>;
}

/** Unpacks on this thread, hashing the tar bytes with `digestAlgorithm`. */
export function createInProcessSink(
  root: string,
  rules: UnpackRules,
  digestAlgorithm: string,
): LayerSink {
  const applier = new LayerApplier(root, rules);
  const reader = new TarReader((h) => applier.begin(h));
  const hash = createHash(digestAlgorithm);
  return {
    write(chunk) {
      hash.update(chunk);
      reader.push(chunk);
    },
    async end() {
      reader.end();
      applier.finish();
      return { entries: applier.entries, warnings: applier.warnings, digest: hash.digest("hex") };
    },
    async abort() {
      reader.abort();
    },
  };
}
