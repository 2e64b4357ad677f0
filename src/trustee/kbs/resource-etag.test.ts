import assert from "node:assert/strict";
import { test } from "node:test";
import { generateTeeKeyPair } from "../../crypto/jwe.js";
import {
  createResourceTagger,
  MAX_IF_NONE_MATCH,
  MAX_REMEMBERED_TAGS,
  MAX_REMEMBERED_VALUE_BYTES,
} from "./resource-etag.js";

const a = generateTeeKeyPair("ec-p256").publicJwk;
const b = generateTeeKeyPair("ec-p256").publicJwk;
const rsa = generateTeeKeyPair("rsa").publicJwk;
const secret = new TextEncoder().encode("s3cret");

test("a tag is a quoted 32-byte MAC that depends on the path, the bytes, the TEE key and the key", () => {
  const t = createResourceTagger();
  const tag = t.tagOf("default/key/a", secret, a);
  assert.match(tag, /^"[A-Za-z0-9_-]{43}"$/);
  assert.equal(t.tagOf("default/key/a", secret, a), tag, "stable for the same inputs");
  assert.ok(!tag.includes(Buffer.from(secret).toString("base64url")));
  const others = [
    t.tagOf("default/key/b", secret, a),
    t.tagOf("default/key/a", new TextEncoder().encode("s3creT"), a),
    t.tagOf("default/key/a", secret, b),
    t.tagOf("default/key/a", secret, rsa),
    createResourceTagger().tagOf("default/key/a", secret, a),
  ];
  assert.equal(new Set([tag, ...others]).size, others.length + 1);
  // Length prefixes: moving bytes between the path and the value changes the tag.
  assert.notEqual(
    t.tagOf("ab", new TextEncoder().encode("c"), a),
    t.tagOf("a", new TextEncoder().encode("bc"), a),
  );
  // A fixed key gives a reproducible tag (cluster workers could share one).
  const k = Buffer.alloc(32, 7);
  assert.equal(
    createResourceTagger(k).tagOf("p", secret, a),
    createResourceTagger(k).tagOf("p", secret, a),
  );
});

test("If-None-Match matches only a tag this tagger issued, in any listed position", () => {
  const t = createResourceTagger();
  const tag = t.tagOf("default/key/a", secret, a);
  const other = t.tagOf("default/key/a", secret, b);
  assert.equal(t.matches(tag, tag), true);
  assert.equal(t.matches(`W/${tag}`, tag), true, "weak comparison");
  assert.equal(t.matches(`${other}, ${tag}`, tag), true);
  assert.equal(t.matches(` ${tag} `, tag), true);
  for (const bad of [
    undefined,
    "",
    "*",
    other,
    tag.slice(1, -1),
    `${tag.slice(0, -2)}x"`,
    `"${"A".repeat(43)}"`,
    "garbage\u00ff\u0000",
    `${tag}${tag}`,
    ",,,,,,,,,,,,,,,,,,,",
    `${"x,".repeat(8)}${tag}`,
    `${tag},`.repeat(20).padEnd(MAX_IF_NONE_MATCH + 1, " "),
    ["x", tag],
  ]) {
    assert.equal(t.matches(bad as string, tag), false, JSON.stringify(bad));
  }
  assert.equal(t.matches(tag, "short"), false);
});

test("a remembered tag is given again only for exactly the bytes it was computed over", () => {
  const k = Buffer.alloc(32, 9);
  const t = createResourceTagger(k);
  const fresh = (path: string, v: Uint8Array, tee = a) =>
    createResourceTagger(k).tagOf(path, v, tee);
  const v1 = Buffer.from("value one");
  const tag1 = t.tagOf("default/key/a", v1, a);
  // The caller's buffer changing afterwards changes nothing: the tagger kept its own copy.
  v1.write("VALUE");
  assert.equal(t.tagOf("default/key/a", v1, a), fresh("default/key/a", v1));
  assert.notEqual(t.tagOf("default/key/a", v1, a), tag1);
  assert.equal(t.tagOf("default/key/a", Buffer.from("value one"), a), tag1);
  // Same bytes, another key or path: another tag, every time.
  assert.equal(
    t.tagOf("default/key/a", Buffer.from("value one"), b),
    fresh("default/key/a", Buffer.from("value one"), b),
  );
  assert.equal(
    t.tagOf("default/key/b", Buffer.from("value one"), a),
    fresh("default/key/b", Buffer.from("value one")),
  );
  // A path that ends like another path plus a key's prefix does not collide.
  assert.equal(t.tagOf("ab", secret, a), fresh("ab", secret));
  assert.equal(t.tagOf("a", secret, a), fresh("a", secret));
  // Shorter or longer bytes with the same prefix.
  assert.equal(t.tagOf("p", Buffer.from("value on"), a), fresh("p", Buffer.from("value on")));
  assert.equal(t.tagOf("p", Buffer.from("value one!"), a), fresh("p", Buffer.from("value one!")));
  // Large values are tagged afresh each time, and still right.
  const big = Buffer.alloc(MAX_REMEMBERED_VALUE_BYTES + 1, 1);
  const bigTag = t.tagOf("p", big, a);
  big[0] = 2;
  assert.notEqual(t.tagOf("p", big, a), bigTag);
  assert.equal(t.tagOf("p", big, a), fresh("p", big));
  // More paths than are remembered: every answer is still the computed tag.
  for (let i = 0; i < MAX_REMEMBERED_TAGS + 10; i++) {
    const p = `default/many/${i}`;
    assert.equal(t.tagOf(p, secret, a), fresh(p, secret));
  }
  assert.equal(t.tagOf("default/many/0", secret, a), fresh("default/many/0", secret));
});
