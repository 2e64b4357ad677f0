import assert from "node:assert/strict";
import { test } from "node:test";
import { generateTeeKeyPair } from "../../crypto/jwe.js";
import { createResourceTagger, MAX_IF_NONE_MATCH } from "./resource-etag.js";

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
