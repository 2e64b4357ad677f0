import assert from "node:assert/strict";
import { test } from "node:test";
import {
  isKeepableEtag,
  MAX_CACHED_RESOURCE_BYTES,
  MAX_CACHED_RESOURCES,
  MAX_CACHED_TOTAL_BYTES,
  ResourceCache,
} from "./resource-cache.js";

const TAG = `"${"a".repeat(43)}"`;

test("an entry is returned only to the token it was fetched with, as a private copy", () => {
  const c = new ResourceCache();
  const owner = {};
  const value = Buffer.from("s3cret");
  c.store("/kbs/v0/resource/a/b/c", owner, TAG, value);
  value.fill(0);
  const e = c.lookup("/kbs/v0/resource/a/b/c", owner);
  assert.equal(Buffer.from(e?.value ?? []).toString(), "s3cret", "the caller's buffer is not kept");
  assert.equal(e?.etag, TAG);
  assert.equal(c.lookup("/kbs/v0/resource/a/b/c", {}), undefined, "another token");
  assert.equal(c.size, 0, "an entry of another token is dropped");
});

test("only quoted, short entity tags and small resources are kept", () => {
  for (const t of [undefined, "", "abc", '"a"b"', `"${"a".repeat(200)}"`, '"\u0001"', '"a b"'])
    assert.equal(isKeepableEtag(t), false, JSON.stringify(t));
  for (const t of ['""', '"abc"', 'W/"abc"', TAG]) assert.equal(isKeepableEtag(t), true, t);
  const c = new ResourceCache();
  c.store("/p", {}, "unquoted", Buffer.from("x"));
  c.store("/q", {}, TAG, Buffer.alloc(MAX_CACHED_RESOURCE_BYTES + 1));
  assert.equal(c.size, 0);
});

test("the cache is bounded in entries and bytes, least recently used dropped first", () => {
  const c = new ResourceCache();
  const owner = {};
  for (let i = 0; i < MAX_CACHED_RESOURCES + 10; i++)
    c.store(`/r/${i}`, owner, TAG, Buffer.alloc(1));
  assert.equal(c.size, MAX_CACHED_RESOURCES);
  assert.equal(c.lookup("/r/0", owner), undefined);
  assert.ok(c.lookup("/r/10", owner) !== undefined);
  c.clear();
  const big = Buffer.alloc(MAX_CACHED_RESOURCE_BYTES);
  const n = MAX_CACHED_TOTAL_BYTES / MAX_CACHED_RESOURCE_BYTES;
  for (let i = 0; i < n; i++) c.store(`/b/${i}`, owner, TAG, big);
  assert.ok(c.lookup("/b/0", owner) !== undefined, "touched: now the most recent");
  c.store("/b/new", owner, TAG, big);
  assert.equal(c.bytes, MAX_CACHED_TOTAL_BYTES);
  assert.equal(c.lookup("/b/1", owner), undefined, "the least recently used went");
  assert.ok(c.lookup("/b/0", owner) !== undefined);
  c.drop("/b/0");
  c.drop("/b/0");
  assert.equal(c.bytes, MAX_CACHED_TOTAL_BYTES - MAX_CACHED_RESOURCE_BYTES);
});
