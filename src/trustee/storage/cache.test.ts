import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createCachedStore } from "./cache.js";
import { runKeyValueStoreSuite } from "./conformance.suite.js";
import { createFileStore } from "./file.js";
import { createMemoryStore } from "./memory.js";
import type { KeyValueStore } from "./types.js";

const dir = mkdtempSync(join(tmpdir(), "coco-kv-cache-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);
const NS = ["repository", "kbs", "attestation_service_policy"];

// The cache must not change what a store means: the whole conformance suite runs through it.
runKeyValueStoreSuite(
  "cached file",
  async () => createCachedStore(await createFileStore(dir), { namespaces: NS }),
  { persistent: true },
);

/** A store counting the reads that reach it. */
function counting(inner: KeyValueStore): KeyValueStore & { reads: number } {
  const s = {
    reads: 0,
    get: (ns: string, key: string) => {
      s.reads++;
      return inner.get(ns, key);
    },
    put: inner.put.bind(inner),
    delete: inner.delete.bind(inner),
    list: inner.list.bind(inner),
    close: inner.close.bind(inner),
  };
  return s;
}

test("reads are reused within the TTL; local writes invalidate at once", async () => {
  const t = 0;
  const inner = counting(createMemoryStore());
  const s = createCachedStore(inner, { namespaces: NS, ttlMs: 1000, now: () => t });
  await s.put("repository", "a/b/c", enc("one"));
  assert.deepEqual(await s.get("repository", "a/b/c"), enc("one"));
  assert.deepEqual(await s.get("repository", "a/b/c"), enc("one"));
  assert.equal(inner.reads, 1);
  await s.put("repository", "a/b/c", enc("two"));
  assert.deepEqual(await s.get("repository", "a/b/c"), enc("two"));
  await s.delete("repository", "a/b/c");
  assert.equal(await s.get("repository", "a/b/c"), undefined);
  // A value handed out is a copy: a caller scribbling on it cannot poison the cache.
  await s.put("kbs", "p", enc("policy"));
  const v = await s.get("kbs", "p");
  v?.fill(0);
  assert.deepEqual(await s.get("kbs", "p"), enc("policy"));
});

test("another replica's write or delete is seen once the TTL has passed, never later", async () => {
  let t = 0;
  const shared = createMemoryStore();
  const a = createCachedStore(shared, { namespaces: NS, ttlMs: 1000, now: () => t });
  await shared.put("repository", "r/t/k", enc("old"));
  assert.deepEqual(await a.get("repository", "r/t/k"), enc("old"));
  await shared.delete("repository", "r/t/k"); // replica B deletes the secret
  t = 999;
  assert.deepEqual(await a.get("repository", "r/t/k"), enc("old"));
  t = 1000;
  assert.equal(await a.get("repository", "r/t/k"), undefined);
  // A missing value is cached too, for the same TTL.
  await shared.put("repository", "r/t/k", enc("new"));
  assert.equal(await a.get("repository", "r/t/k"), undefined);
  t = 2001;
  assert.deepEqual(await a.get("repository", "r/t/k"), enc("new"));
});

test("a read racing a local write does not put the old value back", async () => {
  const inner = createMemoryStore();
  await inner.put("repository", "x/y/z", enc("old"));
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const slow: KeyValueStore = {
    ...inner,
    get: async (ns, key) => {
      const v = await inner.get(ns, key);
      await gate;
      return v;
    },
    put: inner.put.bind(inner),
    delete: inner.delete.bind(inner),
  };
  const s = createCachedStore(slow, { namespaces: NS });
  const racing = s.get("repository", "x/y/z");
  await s.put("repository", "x/y/z", enc("new"));
  release();
  assert.deepEqual(await racing, enc("old"));
  assert.deepEqual(await s.get("repository", "x/y/z"), enc("new"));
});

test("other namespaces, large values and old entries are not kept", async () => {
  const inner = counting(createMemoryStore());
  const s = createCachedStore(inner, { namespaces: NS, maxEntries: 2, maxValueBytes: 4 });
  await inner.put("kbs_used_challenge", "c", enc("1"));
  await s.get("kbs_used_challenge", "c");
  await s.get("kbs_used_challenge", "c");
  assert.equal(inner.reads, 2);
  await inner.put("repository", "big/v/1", enc("12345"));
  await s.get("repository", "big/v/1");
  await s.get("repository", "big/v/1");
  assert.equal(inner.reads, 4);
  for (const k of ["a/a/1", "a/a/2", "a/a/3", "a/a/1"]) await s.get("repository", k);
  assert.equal(inner.reads, 8); // a/a/1 was evicted by a/a/3 (two entries at most)
});

test("the cache is bounded in bytes, not only in entries", async () => {
  const inner = counting(createMemoryStore());
  const s = createCachedStore(inner, { namespaces: ["repository"], maxTotalBytes: 1000 });
  for (let i = 0; i < 5; i++) await inner.put("repository", `r/t/${i}`, new Uint8Array(400));
  for (let i = 0; i < 5; i++) await s.get("repository", `r/t/${i}`);
  const reads = inner.reads;
  // Only the last two values (800 bytes) fit: the older three are read again.
  await s.get("repository", "r/t/4");
  await s.get("repository", "r/t/3");
  assert.equal(inner.reads, reads);
  await s.get("repository", "r/t/0");
  assert.equal(inner.reads, reads + 1);
});

test("concurrent misses share one read, but never one that a local write overtook", async () => {
  const inner = createMemoryStore();
  await inner.put("repository", "s/f/1", enc("old"));
  let reads = 0;
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => {
    release = r;
  });
  const slow: KeyValueStore = {
    ...inner,
    get: async (ns, key) => {
      reads++;
      const v = await inner.get(ns, key);
      await gate;
      return v;
    },
    put: inner.put.bind(inner),
    delete: inner.delete.bind(inner),
  };
  const s = createCachedStore(slow, { namespaces: NS });
  const many = Array.from({ length: 64 }, () => s.get("repository", "s/f/1"));
  release();
  const got = await Promise.all(many);
  assert.equal(reads, 1);
  for (const v of got) assert.deepEqual(v, enc("old"));
  // Each caller has its own copy.
  got[0]?.fill(0);
  assert.deepEqual(got[1], enc("old"));
  assert.deepEqual(await s.get("repository", "s/f/1"), enc("old"));
  assert.equal(reads, 1);

  // A write while a read is in flight: later callers do not join the stale read.
  gate = new Promise<void>((r) => {
    release = r;
  });
  await s.put("repository", "s/f/1", enc("new"));
  const before = s.get("repository", "s/f/1");
  await s.put("repository", "s/f/1", enc("newest"));
  const after = s.get("repository", "s/f/1");
  release();
  assert.deepEqual(await before, enc("new"));
  assert.deepEqual(await after, enc("newest"));
  assert.equal(reads, 3);
});
