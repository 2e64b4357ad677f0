import assert from "node:assert/strict";
import { test } from "node:test";
import { KbsProtocolError } from "./errors.js";
import { canonicalRequestPath, MAX_QUERY_PARAMS } from "./request-path.js";
import { parseResourcePath } from "./resource-path.js";

const refused = (target: string, why: RegExp) =>
  assert.throws(
    () => canonicalRequestPath(target),
    (e: unknown) =>
      e instanceof KbsProtocolError && e.code === "ERR_KBS_PATH" && why.test(e.message),
    target,
  );

test("plain paths are their own canonical form", () => {
  assert.deepEqual(canonicalRequestPath("/"), { path: "/", segments: [], query: {} });
  const c = canonicalRequestPath("/kbs/v0/resource/a/b/c");
  assert.equal(c.path, "/kbs/v0/resource/a/b/c");
  assert.deepEqual(c.segments, ["kbs", "v0", "resource", "a", "b", "c"]);
  assert.equal(c.rawQuery, undefined);
});

test("an encoded unreserved character is decoded once", () => {
  assert.equal(canonicalRequestPath("/kbs/v0/resource%2Dpolicy").path, "/kbs/v0/resource-policy");
  assert.equal(canonicalRequestPath("/kbs/v0/%72esource%2dpolicy").path, "/kbs/v0/resource-policy");
  assert.equal(canonicalRequestPath("/a/%7E%21").path, "/a/~!");
});

test("encoded separators, escapes and controls are refused", () => {
  refused("/a%2Fb", /separator/);
  refused("/a%2fb", /separator/);
  refused("/a%5Cb", /separator/);
  refused("/a%252Fb", /%25/);
  refused("/a%00", /printable/);
  refused("/a%20b", /printable/);
  refused("/a%3Fb", /printable/);
  refused("/a%23b", /printable/);
  refused("/a%C3%A9", /printable/);
  refused("/a%", /two hex digits/);
  refused("/a%2", /two hex digits/);
  refused("/a%zz", /two hex digits/);
  refused("/a\\b", /not printable/);
  refused("/a\u00e9", /not printable/);
  refused("/a b", /not printable/);
});

test("dot segments and empty segments are refused, raw or encoded", () => {
  for (const t of ["/.", "/..", "/a/./b", "/a/../b", "/a/%2e", "/a/%2E%2e/b", "/a/.%2e"]) {
    refused(t, /dot segments/);
  }
  for (const t of ["//a", "/a//b", "/a/", "/kbs/v0/auth/"]) refused(t, /empty path segment/);
  // A dot inside a name is ordinary.
  assert.equal(canonicalRequestPath("/a/.b/c.d/...").path, "/a/.b/c.d/...");
});

test("only origin-form targets without fragments are accepted", () => {
  refused("", /start with \//);
  refused("*", /start with \//);
  refused("http://example.com/kbs/v0/auth", /start with \//);
  refused("/a#b", /fragments/);
  refused(`/${"a".repeat(5000)}`, /longer than/);
});

test("the query is kept raw and decoded into own keys; duplicates are refused", () => {
  const c = canonicalRequestPath("/kbs/v0/resource/a/b/c?x=1&y=%2F&__proto__=z");
  assert.equal(c.path, "/kbs/v0/resource/a/b/c");
  assert.equal(c.rawQuery, "x=1&y=%2F&__proto__=z");
  assert.equal(c.query.x, "1");
  assert.equal(c.query.y, "/");
  assert.ok(Object.hasOwn(c.query, "__proto__"));
  assert.equal(Object.getPrototypeOf(c.query), Object.prototype);
  assert.equal(canonicalRequestPath("/a?").rawQuery, "");
  refused("/a?x=1&x=2", /twice/);
  const many = Array.from({ length: MAX_QUERY_PARAMS + 1 }, (_, i) => `k${i}=v`).join("&");
  refused(`/a?${many}`, /query parameters/);
});

test("resource paths: three segments of upstream's grammar", () => {
  assert.deepEqual(parseResourcePath(["default", "key", "one.v1"]), {
    repository: "default",
    type: "key",
    tag: "one.v1",
    key: "default/key/one.v1",
  });
  for (const segs of [
    ["a", "b"],
    ["a", "b", "c", "d"],
    ["a", "b", ".c"],
    ["a", "", "c"],
    ["a", "b", "c/d"],
    ["a", "b", "x".repeat(129)],
  ]) {
    assert.throws(
      () => parseResourcePath(segs),
      (e: unknown) => e instanceof KbsProtocolError && e.code === "ERR_KBS_RESOURCE_PATH",
    );
  }
});
