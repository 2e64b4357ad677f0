import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startRegistry, type TestRegistry } from "../../../../test/helpers/registry.js";
import { hasCode } from "../../../errors.js";
import { buildTar, skopeoPush, writeTestImage } from "../../../oci/testing.js";
import {
  CDH_SERVICES,
  CdhMessages,
  TtrpcClient,
  TtrpcServer,
} from "../../../protocol/ttrpc/index.js";
import { parseImagePullConfig } from "./config.js";
import { createImagePullService } from "./service.js";
import { registerImagePullService } from "./ttrpc.js";

describe("guest image pull service", () => {
  let dir: string;
  let reg: TestRegistry;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "coco-guest-image-"));
    reg = await startRegistry("plain");
    writeTestImage(join(dir, "layout"), "v1", [
      {
        tar: await buildTar([
          { name: "bin/", type: "directory" },
          { name: "bin/ls", content: "ls", mode: 0o755 },
        ]),
      },
    ]);
    await skopeoPush(join(dir, "layout"), "v1", `${reg.host}/app/img:v1`);
  });
  after(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const noTrustee = {
    getResource: async (uri: string): Promise<Uint8Array> => {
      throw new Error(`no Trustee in this test (${uri})`);
    },
    unwrapKey: async (): Promise<Uint8Array> => {
      throw new Error("no Trustee in this test");
    },
  };

  test("serves PullImage over ttrpc, through a registries.conf mirror, and answers the manifest digest", async () => {
    writeFileSync(
      join(dir, "policy.json"),
      JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }),
    );
    // The image is asked for by a name that only a mirror rule resolves to the local registry.
    writeFileSync(
      join(dir, "registries.conf"),
      `[[registry]]\nprefix = "registry.example"\n[[registry.mirror]]\nlocation = "${reg.host}"\ninsecure = true\n`,
    );
    const service = createImagePullService({
      config: parseImagePullConfig({
        work_dir: join(dir, "work"),
        image_security_policy_uri: `file://${join(dir, "policy.json")}`,
        registry_configuration_uri: join(dir, "registries.conf"),
      }),
      ...noTrustee,
    });
    const server = new TtrpcServer();
    registerImagePullService(server, service);
    const sock = `unix://${join(dir, "cdh.sock")}`;
    await server.listen(sock);
    const client = new TtrpcClient(sock, { timeoutMs: 60_000 });
    try {
      const r = await client.call(
        CDH_SERVICES.imagePull,
        "PullImage",
        CdhMessages.ImagePullRequest,
        CdhMessages.ImagePullResponse,
        {
          imageUrl: "registry.example/app/img:v1",
          bundlePath: join(dir, "bundle"),
        },
      );
      assert.match(r.manifestDigest, /^sha256:[0-9a-f]{64}$/);
      assert.equal(readFileSync(join(dir, "bundle/rootfs/bin/ls"), "utf8"), "ls");
      await assert.rejects(
        client.call(
          CDH_SERVICES.imagePull,
          "PullImage",
          CdhMessages.ImagePullRequest,
          CdhMessages.ImagePullResponse,
          {
            imageUrl: "registry.example/app/img:missing",
            bundlePath: join(dir, "bundle2"),
          },
        ),
        /Image Pull failed: ERR_OCI_HTTP: failed to pull/,
      );
    } finally {
      client.close();
      await server.close();
    }
  });

  test("a policy held in Trustee that cannot be fetched fails the pull; a refusing policy is a verdict", async () => {
    const service = createImagePullService({
      config: parseImagePullConfig({
        work_dir: join(dir, "w2"),
        image_security_policy_uri: "kbs:///default/security-policy/test",
      }),
      ...noTrustee,
    });
    await assert.rejects(
      service.pullImage(`${reg.host}/app/img:v1`, join(dir, "b3")),
      /no Trustee/,
    );
    writeFileSync(join(dir, "reject.json"), JSON.stringify({ default: [{ type: "reject" }] }));
    const refusing = createImagePullService({
      config: parseImagePullConfig({
        work_dir: join(dir, "w3"),
        image_security_policy: readFileSync(join(dir, "reject.json"), "utf8"),
        registry_config: { registry: [{ location: reg.host, insecure: true }] },
      }),
      ...noTrustee,
    });
    await assert.rejects(refusing.pullImage(`${reg.host}/app/img:v1`, join(dir, "b4")), (e) =>
      hasCode(e, "ERR_OCI_POLICY_DENIED"),
    );
  });

  test("configuration fetched from Trustee is held to parse limits before it is parsed", async () => {
    const hostile: Record<string, string> = {
      "kbs:///default/security-policy/deep": `${"[".repeat(100)}${"]".repeat(100)}`,
      "kbs:///default/sigstore-config/deep": Array.from(
        { length: 60 },
        (_, i) => `${"  ".repeat(i)}k${i}:`,
      ).join("\n"),
      "kbs:///default/credential/dup": '{"auths":{},"auths":{}}',
    };
    const trustee = {
      ...noTrustee,
      getResource: async (uri: string) => new TextEncoder().encode(hostile[uri] ?? ""),
    };
    for (const [key, uri, what] of [
      [
        "image_security_policy_uri",
        "kbs:///default/security-policy/deep",
        /signature policy: JSON nests/,
      ],
      ["sigstore_config_uri", "kbs:///default/sigstore-config/deep", /sigstore config: YAML nests/],
      [
        "authenticated_registry_credentials_uri",
        "kbs:///default/credential/dup",
        /registry credentials: JSON object names a key twice/,
      ],
    ] as const) {
      const service = createImagePullService({
        config: parseImagePullConfig({ work_dir: join(dir, `w-${key}`), [key]: uri }),
        ...trustee,
      });
      await assert.rejects(
        service.pullImage(`${reg.host}/app/img:v1`, join(dir, `b-${key}`)),
        (e) => hasCode(e, "ERR_OCI_RESOURCE") && what.test((e as Error).message),
      );
    }
  });

  test("config keys are checked: unknown keys and proxies fail loudly", () => {
    assert.throws(
      () => parseImagePullConfig({ image_security_polciy_uri: "x" }),
      (e) => hasCode(e, "ERR_OCI_CONFIG"),
    );
    assert.throws(
      () => parseImagePullConfig({ image_pull_proxy: { https_proxy: "x" } }),
      (e) => hasCode(e, "ERR_OCI_NOT_IMPLEMENTED"),
    );
    assert.throws(
      () => parseImagePullConfig({ max_concurrent_layer_downloads_per_image: 0 }),
      (e) => hasCode(e, "ERR_OCI_CONFIG"),
    );
  });
});
