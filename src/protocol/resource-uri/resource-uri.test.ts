import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  formatResourceUri,
  kbsPathOf,
  parseResourceUri,
  resourceKey,
  resourceUriFromPath,
} from "./resource-uri.js";

describe("resource URIs", () => {
  test("parses the triple-slash form with the default plugin", () => {
    const u = parseResourceUri("kbs:///default/key/1");
    assert.deepEqual(u, { kbsAddress: "", plugin: "resource", segments: ["default", "key", "1"] });
    assert.equal(kbsPathOf(u), "/kbs/v0/resource/default/key/1");
    assert.equal(formatResourceUri(u), "kbs:///default/key/1");
    assert.equal(resourceKey(u), "default/key/1");
  });

  test("keeps authority, plugin, any segment count and the query verbatim", () => {
    const u = parseResourceUri("kbs+plugin://example.org:8080/a/b/c/d?x=1&y=%2F");
    assert.equal(u.kbsAddress, "example.org:8080");
    assert.equal(u.plugin, "plugin");
    assert.deepEqual(u.segments, ["a", "b", "c", "d"]);
    assert.equal(u.query, "x=1&y=%2F");
    assert.equal(kbsPathOf(u), "/kbs/v0/plugin/a/b/c/d?x=1&y=%2F");
    assert.equal(formatResourceUri(u), "kbs+plugin://example.org:8080/a/b/c/d?x=1&y=%2F");
    assert.equal(formatResourceUri(parseResourceUri("kbs+resource:///a/b/c")), "kbs:///a/b/c");
  });

  test("a bare path drops the leading slash (upstream's double-slash quirk fixed)", () => {
    assert.equal(kbsPathOf(resourceUriFromPath("/a/b/c")), "/kbs/v0/resource/a/b/c");
    assert.equal(kbsPathOf(resourceUriFromPath("a/b/c")), "/kbs/v0/resource/a/b/c");
    assert.equal(kbsPathOf(resourceUriFromPath("kbs+p:///a")), "/kbs/v0/p/a");
  });

  for (const bad of [
    "http://host/a/b/c",
    "kbs+://host/a",
    "kbs://host",
    "kbs://host/",
    "kbs:///a//b",
    "kbs:///a/../b",
    "kbs:///a/./b",
    "kbs:///a/b#frag",
    "kbs+a.b:///x",
    "kbs:///a/b\\c",
    "kbs:///a/b\u0000c",
    `kbs:///${"a/".repeat(3000)}b`,
    "",
    "kbs:",
  ]) {
    test(`rejects ${JSON.stringify(bad.slice(0, 40))}`, () => {
      assert.throws(() => parseResourceUri(bad), { code: "ERR_RESOURCE_URI" });
    });
  }

  test("offline KBCs need exactly repo/type/tag on the resource plugin", () => {
    assert.throws(() => resourceKey(parseResourceUri("kbs:///a/b")), { code: "ERR_RESOURCE_URI" });
    assert.throws(() => resourceKey(parseResourceUri("kbs+x:///a/b/c")), {
      code: "ERR_RESOURCE_URI",
    });
  });
});
