import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createFileStore } from "../storage/file.js";
import {
  createMemorySessionTokens,
  createSharedSessionTokens,
  SESSION_NAMESPACE,
} from "./session-tokens.js";

test("memory: tokens are held until they expire, within the byte budget, oldest dropped first", async () => {
  let now = 1000;
  const s = createMemorySessionTokens({ maxBytes: 100, now: () => now });
  await s.put("a", 5000, "x".repeat(40));
  await s.put("b", 5000, "y".repeat(40));
  assert.equal(s.bytes, 80);
  await s.put("c", 5000, "z".repeat(40));
  assert.equal(s.bytes, 80);
  assert.equal(await s.get("a", 5000), undefined);
  assert.equal(await s.get("b", 5000), "y".repeat(40));
  assert.equal(await s.get("b", 4999), undefined, "the cookie's exp must match");
  await s.put("huge", 5000, "h".repeat(101));
  assert.equal(await s.get("huge", 5000), undefined);
  now = 6000;
  assert.equal(await s.get("c", 5000), undefined);
  await s.put("d", 9000, "d");
  assert.equal(s.bytes, 1, "expired tokens are dropped when room is made");
  await s.put("d", 9000, "dd");
  assert.equal(s.bytes, 2, "a second put of one session replaces it");
});

test("shared: records keyed <exp>-<id>, own writes within the budget, expired ones swept by name", async () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-session-tokens-"));
  try {
    const store = await createFileStore(dir);
    let now = 1000;
    await store.put(SESSION_NAMESPACE, "0123abcd", new TextEncoder().encode("{}"));
    await store.put(SESSION_NAMESPACE, "900-old", new TextEncoder().encode("t"));
    const s = createSharedSessionTokens(store, { maxBytes: 100, now: () => now, sweepEveryMs: 10 });
    await s.put("a", 5000, "x".repeat(60));
    await s.idle();
    // The sweep removed the older layout and the expired record.
    assert.deepEqual(await store.list(SESSION_NAMESPACE), ["5000-a"]);
    await s.put("b", 5000, "y".repeat(60));
    assert.deepEqual(await store.list(SESSION_NAMESPACE), ["5000-b"]);
    assert.equal(await s.get("a", 5000), undefined);
    assert.equal(await s.get("b", 5000), "y".repeat(60));
    // Another replica with the same store reads the record.
    const other = createSharedSessionTokens(store, { now: () => now, sweepEveryMs: 10 });
    assert.equal(await other.get("b", 5000), "y".repeat(60));
    await other.idle();
    now = 6000;
    assert.equal(await other.get("b", 5000), undefined);
    await other.idle();
    await other.put("c", 9000, "c");
    assert.deepEqual(await store.list(SESSION_NAMESPACE), ["9000-c"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
