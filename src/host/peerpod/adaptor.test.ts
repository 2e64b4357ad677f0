import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  PEERPOD_ANNOTATIONS as A,
  HYPERVISOR_SERVICE,
  HypervisorMessages,
  parseCloudConfig,
} from "../../protocol/peerpod/index.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";
import { createAdaptor } from "./adaptor.js";
import { serveHypervisor } from "./hypervisor-server.js";
import type { InstanceSpec, Provider } from "./provider.js";

const dir = mkdtempSync(join(tmpdir(), "coco-adaptor-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// A provider that records what it is asked and never boots anything: these tests are about the
// requests the adaptor accepts and the instance specs it derives, before any VM exists.
function recordingProvider(): Provider & { specs: InstanceSpec[] } {
  const specs: InstanceSpec[] = [];
  return {
    name: "recording",
    specs,
    unavailable: async () => false,
    async create(spec) {
      specs.push(spec);
      throw new Error("not booting in this test");
    },
    start: async () => {},
    stop: async () => {},
    delete: async () => {},
    list: async () => [],
    console: () => "",
  };
}

const toml =
  'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cdh.toml" = "[kbc]\\nurl = \\"http://127.0.0.1:8080\\"\\n"\n';

describe("the adaptor's CreateVM (over Kata's remote hypervisor ttrpc service)", async () => {
  const provider = recordingProvider();
  const adaptor = await createAdaptor({
    provider,
    stateDir: join(dir, "a"),
    adaptorId: "node-1",
    instanceTypes: {
      types: [{ name: "default", vcpus: 2, memoryMiB: 2048 }],
      defaultType: "default",
      images: [],
      defaultImage: "default",
    },
  });
  const socket = join(dir, "hv.sock");
  const server = await serveHypervisor(adaptor, socket);
  after(async () => {
    await server.close();
    await adaptor.close();
  });
  const call = async (method: "CreateVM" | "StartVM" | "StopVM" | "Version", req: object) => {
    const c = new TtrpcClient(`unix://${socket}`, { timeoutMs: 10_000 });
    try {
      const codec = HypervisorMessages[`${method}Request`] as { encode(v: object): Uint8Array };
      return await c.callRaw(HYPERVISOR_SERVICE, method, codec.encode(req));
    } finally {
      c.close();
    }
  };
  const pod = { [A.sandboxName]: "web", [A.sandboxNamespace]: "default" };
  const invalid = (re: RegExp) => (e: { grpcCode?: number; message?: string }) =>
    e.grpcCode === 3 && re.test(e.message ?? "");

  test("Version answers", async () => {
    assert.ok(
      HypervisorMessages.VersionResponse.decode(await call("Version", {})).version.length > 0,
    );
  });

  test("refuses a request without pod name or namespace, a bad id, bad init-data, an unknown instance type, a non-loopback insecure registry", async () => {
    await assert.rejects(
      call("CreateVM", { id: "a".repeat(64), annotations: { [A.sandboxNamespace]: "d" } }),
      invalid(/sandbox-name/),
    );
    await assert.rejects(
      call("CreateVM", { id: "a".repeat(64), annotations: { [A.sandboxName]: "p" } }),
      invalid(/sandbox-namespace/),
    );
    await assert.rejects(
      call("CreateVM", { id: "../../etc", annotations: pod }),
      invalid(/invalid sandbox id/),
    );
    await assert.rejects(
      call("CreateVM", { id: "b".repeat(64), annotations: { ...pod, [A.initData]: "not toml [" } }),
      invalid(/init-data/),
    );
    await assert.rejects(
      call("CreateVM", { id: "c".repeat(64), annotations: { ...pod, [A.machineType]: "huge" } }),
      invalid(/not offered/),
    );
    await assert.rejects(
      call("CreateVM", {
        id: "d".repeat(64),
        annotations: { ...pod, [A.insecureRegistries]: "registry.example:5000" },
      }),
      invalid(/not a loopback/),
    );
    await assert.rejects(call("StartVM", { id: "e".repeat(64) }), invalid(/no created sandbox/));
  });

  test("derives the instance spec: user-data with apf.json and the init-data, the launch field = its digest, forwarded loopback ports", async () => {
    const id = "f".repeat(64);
    const res = HypervisorMessages.CreateVMResponse.decode(
      await call("CreateVM", { id, annotations: { ...pod, [A.initData]: toml } }),
    );
    assert.match(res.agentSocketPath, /agent\.ttrpc$/);
    await assert.rejects(call("CreateVM", { id, annotations: pod }), invalid(/already exists/));
    await assert.rejects(
      call("StartVM", { id }),
      (e: { grpcCode?: number; message?: string }) =>
        e.grpcCode === 14 && /not booting/.test(e.message ?? ""),
    );
    const spec = provider.specs[0]!;
    assert.equal(spec.name, "podvm-web-ffffffff");
    assert.deepEqual([spec.instanceType, spec.vcpus, spec.memoryMiB], ["default", 2, 2048]);
    assert.equal(
      spec.launchField,
      Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(toml))).toString(
        "base64",
      ),
    );
    assert.deepEqual(spec.forwardPorts, [8080]);
    const files = parseCloudConfig(new TextEncoder().encode(spec.userData)).writeFiles.map(
      (f) => f.path,
    );
    assert.deepEqual(files, ["/run/peerpod/apf.json", "/run/peerpod/initdata"]);
    // StartVM failed: the record is gone, StopVM knows nothing of it.
    await assert.rejects(call("StopVM", { id }));
  });
});
