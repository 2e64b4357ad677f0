import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { parseCcel } from "./ccel.js";
import { replayAndMatch, replayRegister } from "./replay.js";

const DIR = "fixtures/evidence/eventlog/";
const CASES = ["CCEL_data", "CCEL_data_ovmf", "CCEL_data_grub", "CCEL_AAEL_alibabacloud"];

for (const name of CASES) {
  test(`parses ${name} into exactly upstream's JSON`, {
    skip: sharedSkip(`${DIR}${name}_out.json`),
  }, () => {
    const got = parseCcel(new Uint8Array(readFileSync(sharedPath(`${DIR}${name}`))));
    const want = JSON.parse(readFileSync(sharedPath(`${DIR}${name}_out.json`), "utf8"));
    assert.deepEqual(JSON.parse(JSON.stringify(got)), want);
  });
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

// RTMR values upstream's replay tests assert (trustee.md §6.2: first and last 4 bytes given).
const REPLAY: Record<string, [string, string][]> = {
  CCEL_data: [
    ["2dc71230", "43f4"],
    ["0fa3be56", "d3cf"],
  ],
  CCEL_data_ovmf: [
    ["8566f998", "e193"],
    ["775b9f6b", "13c6"],
    ["94eaf7a7", "f34a"],
  ],
  CCEL_data_grub: [
    ["cec0a104", "bd79"],
    ["6c289e0c", "b670"],
    ["08919d01", "d31e"],
  ],
};

for (const [name, regs] of Object.entries(REPLAY)) {
  test(`replays ${name} to upstream's RTMR values`, { skip: sharedSkip(`${DIR}${name}`) }, () => {
    const log = parseCcel(new Uint8Array(readFileSync(sharedPath(`${DIR}${name}`))));
    regs.forEach(([head, tail], i) => {
      const v = hex(replayRegister(log, i + 1));
      assert.ok(v.startsWith(head) && v.endsWith(tail), `RTMR${i} = ${v}`);
    });
    if (name === "CCEL_data") {
      assert.equal(hex(replayRegister(log, 3)), "0".repeat(96));
      const good = [1, 2].map((index) => ({ index, value: replayRegister(log, index) }));
      replayAndMatch(log, good);
      const bad = good.map((g) => ({
        ...g,
        value: g.index === 2 ? new Uint8Array(48).fill(1) : g.value,
      }));
      assert.throws(() => replayAndMatch(log, bad), { code: "ERR_EVENTLOG_REPLAY" });
    }
  });
}

test("truncated, oversized-count and garbage logs fail with coded errors, never a crash", {
  skip: sharedSkip(`${DIR}CCEL_data_grub`),
}, () => {
  const raw = new Uint8Array(readFileSync(sharedPath(`${DIR}CCEL_data_grub`)));
  // Find where the real records end (the first all-FF 8 bytes) and cut inside the records.
  let end = 0;
  for (let i = 0; i + 8 <= raw.length; i++) {
    if (raw.subarray(i, i + 8).every((b) => b === 0xff)) {
      end = i;
      break;
    }
  }
  assert.ok(end > 1000);
  const codes = new Set<string>();
  for (let cut = 0; cut < end; cut += 97) {
    try {
      parseCcel(raw.subarray(0, cut));
    } catch (e) {
      codes.add((e as { code: string }).code);
    }
  }
  assert.ok(codes.has("ERR_EVIDENCE_TRUNCATED"));
  for (const c of codes) assert.match(c, /^ERR_EVIDENCE_/);
  // Garbage: random bytes must produce a coded error (or a clean short parse), never a throw of another kind.
  let seed = 7;
  for (let n = 0; n < 200; n++) {
    const g = new Uint8Array(256);
    for (let i = 0; i < g.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      g[i] = seed >>> 24;
    }
    try {
      parseCcel(g);
    } catch (e) {
      assert.match((e as { code: string }).code, /^ERR_EVIDENCE_/);
    }
  }
  assert.throws(() => parseCcel(new Uint8Array(17 * 1024 * 1024)), {
    code: "ERR_EVIDENCE_OVERSIZE",
  });
});
