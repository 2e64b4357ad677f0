/**
 * Unpacking on a second thread. A pull is three kinds of work: digests, decryption and the
 * compressed stream on the main thread, inflate on libuv's pool, and creating files. On the
 * main thread alone the last one made the main thread the bottleneck (about 40 % of a pull's
 * CPU), so big layers hand their verified tar bytes to a worker through a shared ring
 * (ring.ts); the worker runs the same tar reader and applier (worker-main.ts). One worker
 * serves one pull, one layer at a time, in order.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { OciError, type OciErrorCode } from "../errors.js";
import { createRingBuffers, RingWriter } from "./ring.js";
import type { UnpackRules } from "./rules.js";
import type { LayerSink } from "./sink.js";
import type { BeginMessage, LayerOutcome } from "./worker-main.js";

// The worker's program: beside this module in tsc's output, or, inside a bundled program
// (dist/bundle, the qemu guest's /opt/coco), the bundle scripts/bundle.mjs makes of it.
const ENTRIES = [
  new URL("./worker-main.js", import.meta.url),
  new URL("./oci-unpack-worker.cjs", import.meta.url),
];

/** A started worker: one sink at a time, then {@link UnpackWorker.close}. */
export interface UnpackWorker {
  sink(root: string, rules: UnpackRules, digestAlgorithm: string): LayerSink;
  /** Whether the worker is alive and no layer is in flight (it may serve another pull). */
  idle(): boolean;
  close(): Promise<void>;
}

/** One idle worker kept between pulls (unreferenced: it never keeps the process alive). */
let spare: UnpackWorker | undefined;

/**
 * A worker for one pull: the idle one an earlier pull left, or a new one (undefined when the
 * worker's entry file is missing: unpack in process then). Give it back with
 * {@link releaseUnpackWorker}, or close it.
 */
export function acquireUnpackWorker(): UnpackWorker | undefined {
  const w = spare;
  spare = undefined;
  if (w?.idle()) return w;
  if (w !== undefined) void w.close();
  return startUnpackWorker();
}

/**
 * Keeps `w` for the next pull when it is idle and no other is kept, otherwise closes it. A
 * pull then skips starting a thread and loading the unpacker (tens of milliseconds of CPU).
 */
export function releaseUnpackWorker(w: UnpackWorker): void {
  if (spare === undefined && w.idle()) spare = w;
  else void w.close();
}

function toError(o: LayerOutcome): Error {
  if (o.op === "error") {
    if (o.oci && o.code !== undefined) return new OciError(o.code as OciErrorCode, o.message);
    // Filesystem errors keep their errno code, so the pipeline classifies them as before.
    return Object.assign(new Error(o.message), o.code === undefined ? {} : { code: o.code });
  }
  return new OciError("ERR_OCI_UNPACK", "the layer was not unpacked (aborted)");
}

/**
 * Starts an unpack worker, or returns undefined when its entry file is not there (a build
 * that bundled this module without the worker), in which case callers unpack in process.
 */
export function startUnpackWorker(ringBytes = 1 << 20): UnpackWorker | undefined {
  const entry = ENTRIES.find((u) => existsSync(fileURLToPath(u)));
  if (entry === undefined) return undefined;
  const ring = createRingBuffers(ringBytes);
  const writer = new RingWriter(ring);
  // A worker inherits the process's node flags; `--input-type` (a host run with `node -e`) is
  // refused in a worker and would stop it before it loads, so such a host's worker gets none
  // (an explicit list is validated, and test runners pass flags a worker may not take).
  const evalHost = process.execArgv.some((a) => a.startsWith("--input-type"));
  const worker = new Worker(entry, { workerData: ring, ...(evalHost ? { execArgv: [] } : {}) });
  worker.unref();
  let pending: { resolve: (o: LayerOutcome) => void; reject: (e: Error) => void } | undefined;
  let dead: Error | undefined;
  const gone = (err: Error) => {
    dead ??= new OciError("ERR_OCI_UNPACK", `the unpack worker stopped: ${err.message}`, {
      cause: err,
    });
    // A producer waiting for ring space would wait forever for a consumer that is gone.
    writer.interrupt();
    pending?.reject(dead);
    pending = undefined;
  };
  worker.on("message", (o: LayerOutcome) => {
    const p = pending;
    pending = undefined;
    worker.unref();
    p?.resolve(o);
  });
  worker.on("error", gone);
  worker.on("exit", (code) => gone(new Error(`exit code ${code}`)));
  let busy = false;
  const self: UnpackWorker = {
    sink(root, rules, digestAlgorithm) {
      if (busy) throw new Error("unpack worker: one layer at a time");
      if (dead) throw dead;
      busy = true;
      writer.reset();
      const outcome = new Promise<LayerOutcome>((resolve, reject) => {
        pending = { resolve, reject };
      });
      outcome.catch(() => {});
      // Referenced while a layer is in flight: the caller is waiting on this thread's answer.
      worker.ref();
      worker.postMessage({ op: "begin", root, rules, digestAlgorithm } satisfies BeginMessage);
      const settle = async (): Promise<LayerOutcome> => {
        try {
          return await outcome;
        } finally {
          busy = false;
        }
      };
      return {
        async write(chunk) {
          if (await writer.write(chunk)) return;
          // The worker failed on an earlier chunk (or died): report its error.
          throw toError(await settle());
        },
        async end() {
          writer.close();
          const o = await settle();
          if (o.op !== "done") throw toError(o);
          return { entries: o.entries, warnings: o.warnings, digest: o.digest };
        },
        async abort() {
          writer.abort();
          await settle().catch(() => {});
        },
      };
    },
    idle() {
      return !busy && dead === undefined;
    },
    async close() {
      if (spare === self) spare = undefined;
      await worker.terminate();
    },
  };
  return self;
}
