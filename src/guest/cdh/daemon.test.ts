import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startRegistry, type TestRegistry } from "../../../test/helpers/registry.js";
import { buildTar, skopeoPush, writeTestImage } from "../../oci/testing.js";
import { CDH_SERVICES, CdhMessages, TtrpcClient } from "../../protocol/ttrpc/index.js";
import { parseCdhConfig } from "./config.js";
import { startConfidentialDataHub } from "./daemon.js";

describe("CDH daemon", () => {
  let dir: string;
  let reg: TestRegistry;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "coco-cdh-daemon-"));
    reg = await startRegistry("plain");
    writeTestImage(join(dir, "layout"), "v1", [
      { tar: await buildTar([{ name: "hello.txt", content: "pulled by CDH", mode: 0o644 }]) },
    ]);
    await skopeoPush(join(dir, "layout"), "v1", `${reg.host}/demo/img:v1`);
  });
  after(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("serves api.ImagePullService/PullImage next to its own services, as upstream CDH does", async () => {
    writeFileSync(
      join(dir, "policy.json"),
      JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }),
    );
    writeFileSync(
      join(dir, "registries.conf"),
      `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`,
    );
    const socket = `unix://${join(dir, "cdh.sock")}`;
    const config = parseCdhConfig(
      [
        `socket = "${socket}"`,
        "[kbc]",
        'name = "offline_fs_kbc"',
        "[image]",
        `work_dir = "${join(dir, "work")}"`,
        `image_security_policy_uri = "file://${join(dir, "policy.json")}"`,
        `registry_configuration_uri = "${join(dir, "registries.conf")}"`,
      ].join("\n"),
    );
    const cdh = await startConfidentialDataHub({
      config,
      baseDir: join(dir, "base"),
      offlineFsFiles: [],
      env: {},
    });
    const client = new TtrpcClient(socket, { timeoutMs: 60_000 });
    try {
      const r = await client.call(
        CDH_SERVICES.imagePull,
        "PullImage",
        CdhMessages.ImagePullRequest,
        CdhMessages.ImagePullResponse,
        { imageUrl: `${reg.host}/demo/img:v1`, bundlePath: join(dir, "bundle") },
      );
      assert.match(r.manifestDigest, /^sha256:[0-9a-f]{64}$/);
      assert.equal(readFileSync(join(dir, "bundle/rootfs/hello.txt"), "utf8"), "pulled by CDH");
    } finally {
      client.close();
      await cdh.close();
    }
  });

  test("an unknown key in the [image] table stops CDH at start", async () => {
    const config = parseCdhConfig(
      [
        `socket = "unix://${join(dir, "bad.sock")}"`,
        "[kbc]",
        'name = "offline_fs_kbc"',
        "[image]",
        "no_such_key = 1",
      ].join("\n"),
    );
    await assert.rejects(
      startConfidentialDataHub({
        config,
        baseDir: join(dir, "base2"),
        offlineFsFiles: [],
        env: {},
      }),
      (err: unknown) => (err as { code?: string }).code === "ERR_OCI_CONFIG",
    );
  });
});
