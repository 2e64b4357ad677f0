import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { createSessionSealer, newSessionId } from "./session.js";

test("a sealed session opens with the same key only, and expires", () => {
  const key = randomBytes(32);
  const s = createSessionSealer(key);
  const session = {
    state: "authed",
    id: newSessionId(),
    tee: "sample",
    nonce: "n",
    alg: "sha384",
    exp: Date.now() + 1000,
  } as const;
  const cookie = s.seal(session);
  assert.match(cookie, /^v1\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(s.open(cookie), session);
  assert.equal(createSessionSealer(randomBytes(32)).open(cookie), "unknown");
  assert.equal(s.open(cookie, session.exp + 1), "expired");
});

test("tampered, truncated and garbage cookies never open", () => {
  const s = createSessionSealer(randomBytes(32));
  const cookie = s.seal({
    state: "attested",
    id: newSessionId(),
    token: "t".repeat(3000),
    exp: Date.now() + 1000,
  });
  for (let i = 3; i < cookie.length; i += 97) {
    const c = cookie.slice(0, i) + (cookie[i] === "A" ? "B" : "A") + cookie.slice(i + 1);
    assert.notEqual(typeof s.open(c), "object");
  }
  for (const c of [
    "",
    "v1.",
    "v1.AAAA",
    cookie.slice(0, 40),
    "v2.x",
    `v1.${"A".repeat(40000)}`,
    "0123456789abcdef0123456789abcdef",
  ]) {
    assert.notEqual(typeof s.open(c), "object");
  }
});

test("an attested session adds at most half again to the token's size", () => {
  const s = createSessionSealer(randomBytes(32));
  const token = `eyJ${"a".repeat(1500)}.${"b".repeat(700)}`;
  const cookie = s.seal({ state: "attested", id: newSessionId(), token, exp: Date.now() + 1000 });
  assert.ok(cookie.length < token.length * 1.5, `${cookie.length}`);
  assert.equal((s.open(cookie) as { token: string }).token, token);
});
