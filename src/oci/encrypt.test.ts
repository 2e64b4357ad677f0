import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { hasCode } from "../errors.js";
import { openImageDestination } from "./destination.js";
import { encryptImage } from "./encrypt.js";
import { unwrapAnnotationPacket } from "./layer/kbs-annotation.js";
import { LayerDecryptor, LayerEncryptor } from "./layer/ocicrypt.js";
import { acceptAnything, pullImage } from "./pull.js";
import { createLayoutSource } from "./source.js";
import { buildTar, runTool, snapshotTree, writeTestImage } from "./testing.js";
import { parseImageLocation } from "./transport.js";

describe("ocicrypt layer cipher", () => {
  test("matches OpenSSL aes-256-ctr and HMAC-SHA256 over the ciphertext", () => {
    const key = randomBytes(32);
    const nonce = Buffer.from("ffffffffffffffffffffffffffffff00", "hex"); // counter wraps across 64-bit halves
    const plain = randomBytes(100_000);
    const enc = new LayerEncryptor(key, nonce);
    const ct = Buffer.concat([enc.update(plain.subarray(0, 777)), enc.update(plain.subarray(777))]);
    const mac = enc.final();
    const r = spawnSync(
      "openssl",
      ["enc", "-aes-256-ctr", "-K", key.toString("hex"), "-iv", nonce.toString("hex")],
      { input: plain },
    );
    assert.equal(r.status, 0);
    assert.deepEqual(ct, r.stdout);
    assert.deepEqual(mac, createHmac("sha256", key).update(ct).digest());
    const dec = new LayerDecryptor(
      { symkey: key, nonce, digest: "" },
      { cipher: "AES_256_CTR_HMAC_SHA256", hmac: mac },
    );
    assert.deepEqual(dec.update(ct), plain);
    dec.final();
    const bad = new LayerDecryptor(
      { symkey: randomBytes(32), nonce, digest: "" },
      { cipher: "AES_256_CTR_HMAC_SHA256", hmac: mac },
    );
    bad.update(ct);
    assert.throws(
      () => bad.final(),
      (e) => hasCode(e, "ERR_OCI_HMAC"),
    );
  });
});

describe("coco image encrypt", () => {
  let dir: string;
  let layout: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "coco-encrypt-"));
    layout = join(dir, "plain");
    writeTestImage(layout, "v1", [
      {
        tar: await buildTar([
          { name: "etc/", type: "directory" },
          { name: "etc/secret.conf", content: "password=hunter2\n", mode: 0o600 },
        ]),
      },
      {
        tar: await buildTar([{ name: "app/run", content: "#!/bin/sh\n", mode: 0o755 }]),
        compression: "none",
      },
    ]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("our jwe: encryption is decrypted by skopeo --decryption-key, and umoci sees the same tree", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(join(dir, "priv.pem"), privateKey.export({ type: "pkcs1", format: "pem" }), {
      mode: 0o600,
    });
    const { dest, tag } = openImageDestination(parseImageLocation(`oci:${join(dir, "enc")}:v1`));
    await encryptImage(createLayoutSource(layout), "v1", dest, tag, { jwe: [publicKey] });
    const encManifest = readFileSync(join(dir, "enc", "index.json"), "utf8");
    assert.match(encManifest, /manifest/);
    const r = await runTool("skopeo", [
      "copy",
      "--decryption-key",
      join(dir, "priv.pem"),
      `oci:${join(dir, "enc")}:v1`,
      `oci:${join(dir, "dec")}:v1`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const u1 = spawnSync(
      "umoci",
      ["unpack", "--image", `${join(dir, "dec")}:v1`, join(dir, "u-dec")],
      { encoding: "utf8" },
    );
    assert.equal(u1.status, 0, u1.stderr);
    const u2 = spawnSync("umoci", ["unpack", "--image", `${layout}:v1`, join(dir, "u-plain")], {
      encoding: "utf8",
    });
    assert.equal(u2.status, 0, u2.stderr);
    assert.deepEqual(
      snapshotTree(join(dir, "u-dec/rootfs")),
      snapshotTree(join(dir, "u-plain/rootfs")),
    );
    // Without the key skopeo cannot unpack it: the layers really are encrypted.
    const noKey = spawnSync(
      "umoci",
      ["unpack", "--image", `${join(dir, "enc")}:v1`, join(dir, "u-enc")],
      { encoding: "utf8" },
    );
    assert.notEqual(noKey.status, 0);
  });

  test("a KBS-held key: the provider annotation unwraps with the KEK fetched by resource URI", async () => {
    const kek = randomBytes(32);
    const kid = "kbs:///default/image-key/1";
    const { dest, tag } = openImageDestination(parseImageLocation(`oci:${join(dir, "kbs")}:v1`));
    await encryptImage(createLayoutSource(layout), "v1", dest, tag, { kbs: { kid, kek } });
    const asked: string[] = [];
    const getResource = async (uri: string) => {
      asked.push(uri);
      if (uri !== kid) throw new Error("unknown resource");
      return kek;
    };
    const out = join(dir, "kbs-bundle");
    await pullImage({
      source: createLayoutSource(join(dir, "kbs")),
      selector: "v1",
      bundleDir: out,
      verify: acceptAnything,
      keys: { unwrap: (packet) => unwrapAnnotationPacket(packet, getResource) },
    });
    assert.equal(readFileSync(join(out, "rootfs/etc/secret.conf"), "utf8"), "password=hunter2\n");
    assert.deepEqual(asked, [kid, kid]);
    const wrong = async () => randomBytes(32);
    await assert.rejects(
      pullImage({
        source: createLayoutSource(join(dir, "kbs")),
        selector: "v1",
        bundleDir: join(dir, "kbs-wrong"),
        verify: acceptAnything,
        keys: { unwrap: (packet) => unwrapAnnotationPacket(packet, wrong) },
      }),
      (e) => hasCode(e, "ERR_OCI_DECRYPT_KEY"),
    );
  });

  test("a source layer that does not match its digest is refused and no manifest is written", async () => {
    const src = join(dir, "tampered");
    const { manifest } = writeTestImage(src, "v1", [
      { tar: await buildTar([{ name: "x", content: "x" }]) },
    ]);
    const layer = (JSON.parse(manifest.toString()) as { layers: { digest: string }[] }).layers[0]!;
    const blobPath = join(src, "blobs/sha256", layer.digest.slice(7));
    const bytes = readFileSync(blobPath);
    bytes[4]! ^= 1;
    writeFileSync(blobPath, bytes);
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const { dest, tag } = openImageDestination(
      parseImageLocation(`oci:${join(dir, "tampered-enc")}:v1`),
    );
    await assert.rejects(
      encryptImage(createLayoutSource(src), "v1", dest, tag, { jwe: [publicKey] }),
      (e) => hasCode(e, "ERR_OCI_DIGEST_MISMATCH"),
    );
    assert.equal(
      JSON.parse(readFileSync(join(dir, "tampered-enc/index.json"), "utf8")).manifests.length,
      0,
    );
  });
});
