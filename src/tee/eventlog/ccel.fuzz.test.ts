/**
 * Mutation fuzzing of the CCEL/AAEL event-log parser (TCG PC Client records with per-algorithm
 * digests, event sizes and event-detail parsers), seeded with the real logs under
 * ../shared/fixtures/evidence/eventlog/. Property: a value or an `EvidenceError` with a code.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  bitFlip,
  describeStats,
  fuzz,
  inflate,
  mutate,
  type Rng,
} from "../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { EvidenceError } from "../common/errors.js";
import { parseCcelRecords } from "./ccel.js";
import { replayRegister } from "./replay.js";

const LOGS = [
  "fixtures/evidence/eventlog/CCEL_data",
  "fixtures/evidence/eventlog/CCEL_data_grub",
  "fixtures/evidence/eventlog/CCEL_AAEL_alibabacloud",
];
const skip = LOGS.map(sharedSkip).find((s) => s !== false) ?? false;

describe("CCEL event log fuzzing", { skip }, () => {
  test("mutated event logs parse or throw a coded EvidenceError", async (t) => {
    // Cut each log just after its real records, so mutations land in records, not padding.
    const corpus = LOGS.map((p) => {
      const b = new Uint8Array(readFileSync(sharedPath(p)));
      return b.subarray(0, parseCcelRecords(b).end);
    });
    const stats = await fuzz({
      name: "ccel",
      seed: 0xcce1,
      iterations: 2000,
      errorClass: EvidenceError,
      gen: (rng) => {
        const src = rng.pick(corpus);
        // Mutate a window of the log so later records are reached too.
        const at = rng.int(Math.max(1, src.length - 4096));
        const head = src.subarray(0, at);
        // Half the time in-place mutations only (no truncation), so later records are parsed.
        const window = src.subarray(at, at + 4096);
        if (rng.chance(0.5)) {
          const out = Uint8Array.from(src);
          out.set(
            (rng.chance(0.5)
              ? bitFlip
              : (r: Rng, b: Uint8Array) => inflate(r, b, [0, 4, 8, 12, 28, 32, 36]))(rng, window),
            at,
          );
          return out;
        }
        const tail = mutate(rng, window, {
          lengthOffsets: [0, 4, 8, 12, 28, 32, 36],
          boundaries: [0, 4, 8, 12, 32],
          donors: corpus,
        });
        const out = new Uint8Array(head.length + tail.length);
        out.set(head);
        out.set(tail, head.length);
        return out;
      },
      show: (b) => `${b.length} bytes`,
      target: (b) => {
        const { log } = parseCcelRecords(b);
        // Replay what parsed (the verifier's next step) for every register and bank.
        for (let i = 0; i < 5; i++)
          for (const alg of ["SHA-384", "SHA-256"]) replayRegister(log, i, alg);
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
