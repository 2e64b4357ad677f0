import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hasCode } from "../errors.js";
import { formatReference, parseReference } from "./reference.js";
import { parseRegistriesConf, pullTasks } from "./registries-conf.js";

// The shape of image-rs's registry-configuration.toml test data.
const CONF = `
unqualified-search-registries = ["docker.io", "example1.com"]

[[registry]]
prefix = "example.com/banned"
blocked = true

[[registry]]
prefix = "mirror-test.com"
[[registry.mirror]]
location = "127.0.0.1:5000"
insecure = true

[[registry]]
prefix = "remapping-test.com"
location = "127.0.0.1:5000"
insecure = true

[[registry]]
location = "127.0.0.1:5000"
insecure = true

[[registry]]
prefix = "docker.io/library"
[[registry.mirror]]
location = "123456.mirror.aliyuncs.com/library"
`;

describe("registries.conf", () => {
  const conf = parseRegistriesConf(CONF);
  const tasks = (r: string) =>
    pullTasks(conf, parseReference(r)).map(
      (t) => `${t.kind}:${formatReference(t.reference)}:${t.insecure}`,
    );
  test("expands unqualified names, applies mirrors first, then the original", () => {
    assert.deepEqual(tasks("bar:tag"), [
      "mirror:123456.mirror.aliyuncs.com/library/bar:tag:false",
      "original:docker.io/library/bar:tag:false",
      "original:example1.com/bar:tag:false",
    ]);
  });
  test("remaps locations, marks insecure endpoints, and blocks at path boundaries", () => {
    assert.deepEqual(tasks("mirror-test.com/some-image"), [
      "mirror:127.0.0.1:5000/some-image:latest:true",
      "original:mirror-test.com/some-image:latest:false",
    ]);
    assert.deepEqual(tasks("remapping-test.com/some-image"), [
      "remap:127.0.0.1:5000/some-image:latest:true",
    ]);
    assert.deepEqual(tasks("127.0.0.1:5000/some-image"), [
      "original:127.0.0.1:5000/some-image:latest:true",
    ]);
    assert.throws(
      () => pullTasks(conf, parseReference("example.com/banned/image:tag")),
      (e) => hasCode(e, "ERR_OCI_BLOCKED"),
    );
    assert.equal(tasks("example.com/banned-suffix/image:tag").length, 1);
    assert.equal(tasks("example.com/no-banned/image:tag").length, 1);
  });
  test("rejects garbage and rules without prefix or location", () => {
    for (const bad of [
      "[[registry",
      "[[registry]]\ninsecure = true",
      "[[registry]]\nprefix='a'\n[[registry.mirror]]\ninsecure=true",
      "unqualified-search-registries = 5",
    ]) {
      assert.throws(
        () => parseRegistriesConf(bad),
        (e) => hasCode(e, "ERR_OCI_REGISTRY_CONFIG"),
        bad,
      );
    }
  });
});
