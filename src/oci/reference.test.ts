import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hasCode } from "../errors.js";
import { formatReference, parseReference } from "./reference.js";

describe("docker references", () => {
  test("normalises docker.io short names and defaults the tag", () => {
    assert.equal(formatReference(parseReference("busybox")), "docker.io/library/busybox:latest");
    assert.equal(
      formatReference(parseReference("index.docker.io/foo/bar:1")),
      "docker.io/foo/bar:1",
    );
    assert.equal(formatReference(parseReference("quay.io/ns/img:tag")), "quay.io/ns/img:tag");
    assert.equal(formatReference(parseReference("localhost/img")), "localhost/img:latest");
    const d = `sha256:${"a".repeat(64)}`;
    const r = parseReference(`127.0.0.1:5000/a/b@${d}`);
    assert.deepEqual(r, { registry: "127.0.0.1:5000", repository: "a/b", digest: d });
    assert.equal(parseReference(`x.io/a:t@${d}`).tag, "t");
  });

  const bad = [
    "",
    ":justtag",
    "docker.io//library///repo:tag",
    "docker.io/library/repo::tag",
    "docker.io/library/",
    `repo@@@sha256:${"f".repeat(64)}`,
    "*:tag",
    "***/&/repo:tag",
    `@sha256:${"f".repeat(64)}`,
    "repo@sha256:ffff",
    `validname@invaliddigest:${"f".repeat(64)}`,
    "Uppercase:tag",
    "test:5000/Uppercase/lowercase:tag",
    "a".repeat(256),
    "aa/asdf$$^/aa",
    "a/b/../c",
  ];
  for (const input of bad) {
    test(`rejects '${input.slice(0, 40)}'`, () => {
      assert.throws(
        () => parseReference(input),
        (e) => hasCode(e, "ERR_OCI_REFERENCE"),
      );
    });
  }
});
