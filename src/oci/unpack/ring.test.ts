import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { createRingBuffers, RING_FAILED, RingWriter } from "./ring.js";

const RING = new URL("./ring.js", import.meta.url).href;

/** A consumer thread: drains the ring into a sha256, failing after `failAfter` bytes if set. */
function consumer(ring: ReturnType<typeof createRingBuffers>, failAfter = -1) {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const { createHash } = require("node:crypto");
    import(${JSON.stringify(RING)}).then(({ drainRing }) => {
      const h = createHash("sha256");
      let n = 0;
      try {
        const how = drainRing(workerData.ring, (b) => {
          n += b.length;
          if (workerData.failAfter >= 0 && n > workerData.failAfter) throw new Error("consumer failed");
          h.update(b);
        });
        parentPort.postMessage({ how, n, digest: h.digest("hex") });
      } catch (e) {
        parentPort.postMessage({ error: e.message, n });
      }
    });`;
  const w = new Worker(code, { eval: true, workerData: { ring, failAfter } });
  const result = new Promise<{ how?: string; n: number; digest?: string; error?: string }>(
    (resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    },
  );
  return { result, stop: () => w.terminate() };
}

describe("shared byte ring", () => {
  it("delivers every byte in order across many wraps of a small ring", async () => {
    const ring = createRingBuffers(64);
    const writer = new RingWriter(ring);
    writer.reset();
    const c = consumer(ring);
    const data = randomBytes(200_000);
    let off = 0;
    let i = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, 1 + ((i++ * 37) % 300));
      assert.equal(await writer.write(data.subarray(off, off + n)), true);
      off += n;
    }
    writer.close();
    const r = await c.result;
    await c.stop();
    assert.equal(r.how, "closed");
    assert.equal(r.n, data.length);
    assert.equal(r.digest, createHash("sha256").update(data).digest("hex"));
  });

  it("stops a writer that waits for space when the consumer fails", async () => {
    const ring = createRingBuffers(1024);
    const writer = new RingWriter(ring);
    writer.reset();
    const c = consumer(ring, 5000);
    const ok = await writer.write(randomBytes(100_000));
    assert.equal(ok, false);
    assert.equal(writer.state(), RING_FAILED);
    const r = await c.result;
    await c.stop();
    assert.equal(r.error, "consumer failed");
  });

  it("lets the producer abort a stream the consumer is waiting on", async () => {
    const ring = createRingBuffers(1024);
    const writer = new RingWriter(ring);
    writer.reset();
    const c = consumer(ring);
    await writer.write(randomBytes(10));
    writer.abort();
    const r = await c.result;
    await c.stop();
    assert.equal(r.how, "aborted");
    assert.equal(await writer.write(randomBytes(10)), false);
  });

  it("refuses a capacity that is not a power of two", () => {
    assert.throws(() => createRingBuffers(1000), RangeError);
    assert.throws(() => createRingBuffers(0), RangeError);
  });
});
