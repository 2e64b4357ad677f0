/**
 * The unpack worker's entry point (a worker_threads worker started by worker.ts). For each
 * `begin` message it drains the shared ring through a hash and our tar reader into the
 * applier, then reports the summary with the digest, the abort, or the error (its code and
 * text; nothing else crosses).
 */
import { createHash } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { LayerApplier } from "./apply.js";
import { drainRing, type RingBuffers } from "./ring.js";
import type { UnpackRules } from "./rules.js";
import { TarReader } from "./tar-reader.js";

/** Main → worker. */
export interface BeginMessage {
  op: "begin";
  root: string;
  rules: UnpackRules;
  digestAlgorithm: string;
}

/** Worker → main, one per layer. */
export type LayerOutcome =
  | { op: "done"; entries: number; warnings: string[]; digest: string }
  | { op: "aborted" }
  | { op: "error"; oci: boolean; code: string | undefined; message: string };

const port = parentPort;
if (port === null) {
  // Run directly (the guest image build loads every bundled program once to check it).
  process.stderr.write(
    "usage: started by the image pull as a worker thread (src/oci/unpack/worker.ts)\n",
  );
} else {
  const ring = workerData as RingBuffers;
  port.on("message", (m: BeginMessage) => {
    let outcome: LayerOutcome;
    const applier = new LayerApplier(m.root, m.rules);
    const reader = new TarReader((h) => applier.begin(h));
    const hash = createHash(m.digestAlgorithm);
    try {
      const how = drainRing(ring, (b) => {
        hash.update(b);
        reader.push(b);
      });
      if (how === "aborted") {
        reader.abort();
        outcome = { op: "aborted" };
      } else {
        reader.end();
        applier.finish();
        outcome = {
          op: "done",
          entries: applier.entries,
          warnings: applier.warnings,
          digest: hash.digest("hex"),
        };
      }
    } catch (err) {
      reader.abort();
      const e = err as { name?: unknown; code?: unknown; message?: unknown };
      outcome = {
        op: "error",
        oci: e?.name === "OciError",
        code: typeof e?.code === "string" ? e.code : undefined,
        message: String(e?.message ?? err),
      };
    }
    port.postMessage(outcome);
  });
}
