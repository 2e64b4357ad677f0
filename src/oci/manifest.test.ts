import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hasCode } from "../errors.js";
import {
  MANIFEST_MAX_BYTES,
  parseImageConfig,
  parseManifestOrIndex,
  selectPlatform,
} from "./manifest.js";

const D = `sha256:${"0".repeat(64)}`;
const manifest = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: D, size: 2 },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D, size: 3 }],
};

describe("manifests", () => {
  test("parses a manifest and an index, and selects the platform", () => {
    const m = parseManifestOrIndex(Buffer.from(JSON.stringify(manifest)));
    assert.equal(m.kind, "manifest");
    const idx = parseManifestOrIndex(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: [
            {
              mediaType: manifest.mediaType,
              digest: D,
              size: 1,
              platform: { os: "linux", architecture: "arm64" },
            },
            {
              mediaType: manifest.mediaType,
              digest: `sha256:${"1".repeat(64)}`,
              size: 1,
              platform: { os: "linux", architecture: "amd64" },
            },
          ],
        }),
      ),
    );
    assert.equal(idx.kind, "index");
    if (idx.kind === "index") {
      assert.equal(
        selectPlatform(idx, { os: "linux", architecture: "amd64" }).digest,
        `sha256:${"1".repeat(64)}`,
      );
      assert.throws(
        () => selectPlatform(idx, { os: "linux", architecture: "s390x" }),
        (e) => hasCode(e, "ERR_OCI_PLATFORM"),
      );
    }
  });

  test("rejects garbage, truncation, oversize, bad digests and negative sizes", () => {
    const text = JSON.stringify(manifest);
    const cases: [string | Buffer, string][] = [
      ["garbage", "ERR_OCI_MANIFEST"],
      [text.slice(0, text.length - 5), "ERR_OCI_MANIFEST"],
      [Buffer.alloc(MANIFEST_MAX_BYTES + 1, 32), "ERR_OCI_TOO_LARGE"],
      [JSON.stringify({ ...manifest, schemaVersion: 1 }), "ERR_OCI_MANIFEST"],
      [
        JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], digest: "sha256:abc" }] }),
        "ERR_OCI_MANIFEST",
      ],
      [
        JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] }),
        "ERR_OCI_MANIFEST",
      ],
      [JSON.stringify({ ...manifest, mediaType: "text/plain" }), "ERR_OCI_MEDIA_TYPE"],
      ["[]", "ERR_OCI_MANIFEST"],
    ];
    for (const [input, code] of cases) {
      assert.throws(
        () => parseManifestOrIndex(Buffer.from(input)),
        (e) => hasCode(e, code),
        String(input).slice(0, 60),
      );
    }
  });

  test("rejects configs with bad diff_ids or field types", () => {
    assert.throws(
      () => parseImageConfig(Buffer.from('{"rootfs":{"diff_ids":["md5:1"]}}')),
      (e) => hasCode(e, "ERR_OCI_MANIFEST"),
    );
    assert.throws(
      () => parseImageConfig(Buffer.from(`{"rootfs":{"diff_ids":["${D}"]},"config":{"Cmd":"sh"}}`)),
      (e) => hasCode(e, "ERR_OCI_MANIFEST"),
    );
    assert.equal(
      parseImageConfig(
        Buffer.from(`{"os":"linux","rootfs":{"diff_ids":["${D}"]},"config":{"Cmd":["sh"]}}`),
      ).config.Cmd?.[0],
      "sh",
    );
  });
});
