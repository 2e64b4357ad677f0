import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { hasCode } from "../../errors.js";
import { sha256Digest } from "../digest.js";
import { encryptLayer } from "../encrypt.js";
import { ANNOTATION_PUBOPTS } from "../layer/ocicrypt.js";
import { initLayout, tagLayoutManifest, writeLayoutBlob } from "../layout-writer.js";
import { acceptAnything, pullImage } from "../pull.js";
import { createLayoutSource } from "../source.js";
import { buildTar, snapshotTree, type TestEntry } from "../testing.js";
import type { UnpackRules } from "./rules.js";

/** Writes a one-layer image from a raw blob, with explicit diff_id and descriptor overrides. */
function writeRawImage(
  dir: string,
  blob: Buffer,
  diffId: string,
  layer: Record<string, unknown>,
): void {
  initLayout(dir);
  const digest = writeLayoutBlob(dir, blob);
  const cfg = Buffer.from(
    JSON.stringify({
      os: "linux",
      architecture: "amd64",
      config: {},
      rootfs: { type: "layers", diff_ids: [diffId] },
    }),
  );
  const cfgDigest = writeLayoutBlob(dir, cfg);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: cfgDigest,
        size: cfg.length,
      },
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          digest,
          size: blob.length,
          ...layer,
        },
      ],
    }),
  );
  tagLayoutManifest(dir, "t", {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: writeLayoutBlob(dir, manifest),
    size: manifest.length,
  });
}

/** Re-types the first header of a tar and fixes its checksum. */
function retype(tar: Buffer, flag: string): Buffer {
  const t = Buffer.from(tar);
  t[156] = flag.charCodeAt(0);
  t.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += t[i]!;
  t.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return t;
}

describe("hostile layers are refused and nothing outside the bundle changes", () => {
  let base: string;
  let outside: string;
  let n = 0;
  before(() => {
    base = mkdtempSync(join(tmpdir(), "coco-hostile-"));
    outside = join(base, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "sentinel"), "untouched");
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  async function expectRefused(
    build: (layout: string) => Promise<void>,
    code: string,
    rules: Partial<UnpackRules> = {},
    keys?: Parameters<typeof pullImage>[0]["keys"],
  ): Promise<void> {
    const id = n++;
    const layout = join(base, `layout-${id}`);
    await build(layout);
    // Each layer is refused the same way whether it is unpacked here or on the worker thread.
    for (const unpackWorker of [false, true]) {
      // The bundle sits deep so that '../' climbs toward `outside` if confinement failed.
      const bundle = join(base, `b${id}-${unpackWorker}`, "x", "y");
      const before = snapshotTree(outside);
      await assert.rejects(
        pullImage({
          source: createLayoutSource(layout),
          selector: "t",
          bundleDir: bundle,
          verify: acceptAnything,
          rules,
          unpackWorker,
          ...(keys ? { keys } : {}),
        }),
        (e) => hasCode(e, code),
      );
      assert.deepEqual(snapshotTree(outside), before);
      assert.equal(readFileSync(join(outside, "sentinel"), "utf8"), "untouched");
      assert.deepEqual(
        existsSync(bundle) ? readdirSync(bundle) : [],
        [],
        "nothing half-written in the bundle",
      );
    }
  }

  const tarImage = (entries: TestEntry[]) => async (layout: string) => {
    const tar = await buildTar(entries);
    writeRawImage(layout, gzipSync(tar), sha256Digest(tar), {});
  };

  test("path traversal with '..'", () =>
    expectRefused(
      tarImage([{ name: "../../../../outside/pwned", content: "x" }]),
      "ERR_OCI_UNPACK_ESCAPE",
    ));
  test("absolute path", () =>
    expectRefused(
      tarImage([{ name: `${base}/outside/pwned`, content: "x" }]),
      "ERR_OCI_UNPACK_ESCAPE",
    ));
  test("symlink escape through a relative link", () =>
    expectRefused(
      tarImage([
        { name: "esc", type: "symlink", linkname: "../../../../../../../../outside" },
        { name: "esc/pwned", content: "x" },
      ]),
      "ERR_OCI_UNPACK_ESCAPE",
    ));
  test("hardlink escape", () =>
    expectRefused(
      tarImage([{ name: "h", type: "link", linkname: "../../../../outside/sentinel" }]),
      "ERR_OCI_UNPACK_ESCAPE",
    ));
  test("hardlink to a missing or directory target", () =>
    expectRefused(
      tarImage([
        { name: "d/", type: "directory" },
        { name: "h", type: "link", linkname: "d" },
      ]),
      "ERR_OCI_UNPACK_FORBIDDEN",
    ));
  test("device node under the default rules", () =>
    expectRefused(
      tarImage([{ name: "dev-null", type: "character-device", devmajor: 1, devminor: 3 }]),
      "ERR_OCI_UNPACK_FORBIDDEN",
    ));
  test("setuid under the reject rule", () =>
    expectRefused(
      tarImage([{ name: "s", content: "x", mode: 0o4755 }]),
      "ERR_OCI_UNPACK_FORBIDDEN",
      { setuid: "reject" },
    ));
  test("GNU sparse entry", () =>
    expectRefused(async (layout) => {
      const tar = retype(await buildTar([{ name: "sparse", content: "abc" }]), "S");
      writeRawImage(layout, gzipSync(tar), sha256Digest(tar), {});
    }, "ERR_OCI_UNPACK_FORBIDDEN"));
  test("PAX sparse entry (a huge sparse file)", () =>
    expectRefused(
      tarImage([
        {
          name: "huge",
          content: "x",
          pax: {
            "GNU.sparse.major": "1",
            "GNU.sparse.minor": "0",
            "GNU.sparse.realsize": "1099511627776",
            "GNU.sparse.name": "huge",
          },
        },
      ]),
      "ERR_OCI_UNPACK_FORBIDDEN",
    ));
  test("file larger than the limit", () =>
    expectRefused(
      tarImage([{ name: "big", content: Buffer.alloc(5000) }]),
      "ERR_OCI_UNPACK_LIMIT",
      { maxFileBytes: 4096 },
    ));
  test("decompression bomb beyond the layer limit", () =>
    expectRefused(
      tarImage([{ name: "zeros", content: Buffer.alloc(1 << 20) }]),
      "ERR_OCI_UNPACK_LIMIT",
      { maxLayerBytes: 100_000 },
    ));
  test("too many entries", () =>
    expectRefused(
      tarImage(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, content: "x" }))),
      "ERR_OCI_UNPACK_LIMIT",
      { maxEntries: 10 },
    ));
  test("truncated gzip", () =>
    expectRefused(async (layout) => {
      const tar = await buildTar([{ name: "f", content: Buffer.alloc(100_000, 7) }]);
      const gz = gzipSync(tar);
      writeRawImage(layout, gz.subarray(0, gz.length - 40), sha256Digest(tar), {});
    }, "ERR_OCI_DECOMPRESS"));
  test("garbage instead of a tar", () =>
    expectRefused(async (layout) => {
      const junk = Buffer.alloc(4096, 0x41);
      writeRawImage(layout, gzipSync(junk), sha256Digest(junk), {});
    }, "ERR_OCI_TAR"));
  test("blob that does not match its digest", () =>
    expectRefused(async (layout) => {
      const tar = await buildTar([{ name: "f", content: "x" }]);
      const gz = gzipSync(tar);
      writeRawImage(layout, gz, sha256Digest(tar), {});
      const blobFile = join(layout, "blobs/sha256", sha256Digest(gz).slice(7));
      const tampered = Buffer.from(gz);
      // Valid gzip, other bytes: the header mtime is not covered by gzip's own checks.
      tampered[4]! ^= 1;
      writeFileSync(blobFile, tampered);
    }, "ERR_OCI_DIGEST_MISMATCH"));
  test("uncompressed content that does not match the diff_id", () =>
    expectRefused(async (layout) => {
      const tar = await buildTar([{ name: "f", content: "x" }]);
      writeRawImage(layout, gzipSync(tar), `sha256:${"0".repeat(64)}`, {});
    }, "ERR_OCI_DIGEST_MISMATCH"));
  test("encrypted layer with a wrong HMAC", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await expectRefused(
      async (layout) => {
        const tar = await buildTar([{ name: "secret", content: "s3cret" }]);
        const e = await encryptLayer(gzipSync(tar), "application/vnd.oci.image.layer.v1.tar+gzip", {
          jwe: [publicKey],
        });
        const pub = JSON.parse(
          Buffer.from(e.annotations[ANNOTATION_PUBOPTS]!, "base64").toString(),
        );
        pub.hmac = Buffer.alloc(32, 1).toString("base64");
        const annotations = {
          ...e.annotations,
          [ANNOTATION_PUBOPTS]: Buffer.from(JSON.stringify(pub)).toString("base64"),
        };
        writeRawImage(layout, e.blob, sha256Digest(tar), { mediaType: e.mediaType, annotations });
      },
      "ERR_OCI_HMAC",
      {},
      { privateKeys: [privateKey] },
    );
  });

  test("encrypted multi-MiB layer altered near its end (the HMAC fails after MiBs unpacked)", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await expectRefused(
      async (layout) => {
        const tar = await buildTar([{ name: "big", content: randomBytes(3 * 1048576 + 7) }]);
        const e = await encryptLayer(gzipSync(tar), "application/vnd.oci.image.layer.v1.tar+gzip", {
          jwe: [publicKey],
        });
        // A bit of the gzip trailer's CRC: the blob digest names the altered blob, so only
        // the MAC catches it, after every earlier MiB went through decryption and unpacking.
        const blob = Buffer.from(e.blob);
        blob[blob.length - 6]! ^= 1;
        writeRawImage(layout, blob, sha256Digest(tar), {
          mediaType: e.mediaType,
          annotations: e.annotations,
        });
      },
      "ERR_OCI_HMAC",
      {},
      { privateKeys: [privateKey] },
    );
  });

  test("a directory replaced by a symlink to the outside does not get its time applied outside", async () => {
    const { statSync, utimesSync } = await import("node:fs");
    const past = new Date(1_000_000_000_000);
    utimesSync(outside, past, past);
    const layout = join(base, "swap");
    await tarImage([
      { name: "d/", type: "directory", mtime: new Date(1_500_000_000_000) },
      { name: "p/", type: "directory" },
      { name: "p/q/", type: "directory", mtime: new Date(1_500_000_000_000) },
      { name: "d", type: "symlink", linkname: outside },
      { name: "p", type: "symlink", linkname: join(outside, "..") },
    ])(layout);
    await pullImage({
      source: createLayoutSource(layout),
      selector: "t",
      bundleDir: join(base, "swap-bundle"),
      verify: acceptAnything,
    });
    assert.equal(statSync(outside).mtime.getTime(), past.getTime());
    assert.equal(readFileSync(join(outside, "sentinel"), "utf8"), "untouched");
  });

  test("an absolute symlink is re-rooted inside the rootfs, never followed outside", async () => {
    const layout = join(base, "reroot");
    await tarImage([
      { name: "abs", type: "symlink", linkname: outside },
      { name: "abs/inside", content: "stays in the rootfs" },
    ])(layout);
    const before = snapshotTree(outside);
    const bundle = join(base, "reroot-bundle");
    await pullImage({
      source: createLayoutSource(layout),
      selector: "t",
      bundleDir: bundle,
      verify: acceptAnything,
    });
    assert.deepEqual(snapshotTree(outside), before);
    assert.equal(
      readFileSync(join(bundle, "rootfs", outside, "inside"), "utf8"),
      "stays in the rootfs",
    );
  });
});
