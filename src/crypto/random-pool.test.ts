import assert from "node:assert/strict";
import { test } from "node:test";
import { createRandomPool } from "./random-pool.js";

test("the random pool hands out each byte once, across refills and sizes", () => {
  const take = createRandomPool(256);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const n = 1 + (i % 32);
    const b = take(n);
    assert.equal(b.length, n);
    if (n >= 12) {
      const hex = b.toString("hex");
      assert.ok(!seen.has(hex), "a value came out twice");
      seen.add(hex);
    }
  }
  // Requests larger than an eighth of the block bypass it.
  assert.equal(take(100).length, 100);
});

test("pooled bytes look random (no constant or zeroed blocks)", () => {
  const take = createRandomPool(4096);
  const counts = new Array(256).fill(0);
  for (let i = 0; i < 4000; i++) for (const x of take(16)) counts[x]++;
  // 64,000 bytes: each value about 250 times; a zeroed or stuck pool would fail by far.
  assert.ok(Math.max(...counts) < 400 && Math.min(...counts) > 120, JSON.stringify(counts));
});
