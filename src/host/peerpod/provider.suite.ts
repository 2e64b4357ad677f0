/**
 * The conformance suite every peer-pods provider runs, through the adaptor as the runtime uses
 * it: a VM made by CreateVM/StartVM answers the agent's health check through the adaptor's proxy
 * and the VM's forwarder (mutual TLS), denies every request without a policy, and StopVM deletes
 * it with everything made for it; after the adaptor is killed and restarted it re-attaches the
 * VM of a live pod and deletes the VM of a pod that went, and an instance nobody recorded.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { cleanUpOnExit } from "../../../test/helpers/cleanup.js";
import { encodeAgentMessage } from "../../protocol/agent/index.js";
import { PEERPOD_ANNOTATIONS } from "../../protocol/peerpod/index.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";
import { newId } from "../runtime/requests.js";
import { type Adaptor, createAdaptor } from "./adaptor.js";
import { TAGS } from "./names.js";
import type { Provider } from "./provider.js";

/** What a provider under test needs: a factory (called again after an "adaptor restart"). */
export interface ProviderUnderTest {
  make: (work: string) => Provider;
  /** Extra checks on a deleted instance (e.g. no domain, no volume left). */
  assertGone?: (provider: Provider, instanceId: string) => Promise<void>;
  /** VM memory (MiB) for the test's one instance type. */
  memoryMiB?: number;
  /** Why the provider's environment cannot be made here (checked before `prepare`), or false. */
  skip?: () => string | false;
  /** Makes the provider's environment under `work` (e.g. a private libvirtd) before `make`. */
  prepare?: (work: string) => Promise<void>;
  /** Stops what `prepare` started (before `work` is removed). */
  teardown?: () => Promise<void>;
}

export function providerConformance(name: string, put: ProviderUnderTest): void {
  describe(`peer-pods provider conformance: ${name}`, async () => {
    const work = mkdtempSync(join(tmpdir(), `coco-pp-${name}-`));
    const reap = cleanUpOnExit(work);
    after(async () => {
      await put.teardown?.();
      reap();
    });
    let skip = put.skip?.() ?? false;
    if (!skip) await put.prepare?.(work);
    if (!skip) skip = await put.make(work).unavailable();
    const adaptorId = `test-${Date.now().toString(36)}`;
    const owners = join(work, "owners");
    mkdirSync(owners, { recursive: true });
    const open = (provider: Provider, log: string[] = []): Promise<Adaptor> =>
      createAdaptor({
        provider,
        stateDir: join(work, "adaptor"),
        adaptorId,
        instanceTypes: {
          types: [{ name: "t", vcpus: 1, memoryMiB: put.memoryMiB ?? 1024 }],
          defaultType: "t",
          images: [],
          defaultImage: "default",
        },
        log: (l) => {
          log.push(l);
          if (process.env.COCO_DEBUG) console.error(l);
        },
      });
    const annotations = (pod: string, owner: string) => ({
      [PEERPOD_ANNOTATIONS.sandboxName]: pod,
      [PEERPOD_ANNOTATIONS.sandboxNamespace]: "default",
      [PEERPOD_ANNOTATIONS.owner]: owner,
    });
    const health = async (socket: string) => {
      const c = new TtrpcClient(`unix://${socket}`, { timeoutMs: 30_000 });
      try {
        return [...(await c.callRaw("grpc.Health", "Check", new Uint8Array(0)))];
      } finally {
        c.close();
      }
    };

    test("a VM answers through proxy and forwarder, denies everything without a policy, and StopVM deletes it", {
      skip,
    }, async () => {
      const provider = put.make(work);
      const adaptor = await open(provider);
      const id = newId();
      const owner = join(owners, id);
      writeFileSync(owner, id);
      try {
        const { agentSocketPath } = await adaptor.createVM({
          id,
          annotations: annotations("conf-a", owner),
          networkNamespacePath: "",
        });
        await adaptor.startVM(id);
        assert.deepEqual(await health(agentSocketPath), [0x08, 0x01]);
        const c = new TtrpcClient(`unix://${agentSocketPath}`, { timeoutMs: 30_000 });
        try {
          await assert.rejects(
            c.callRaw(
              "grpc.AgentService",
              "CreateSandbox",
              encodeAgentMessage("CreateSandboxRequest", { hostname: "x" }),
            ),
            (e: { grpcCode?: number; message?: string }) =>
              e.grpcCode === 7 && /blocked by policy/.test(e.message ?? ""),
          );
        } finally {
          c.close();
        }
        const [inst] = await provider.list({ [TAGS.sandbox]: id });
        assert.equal(inst?.state, "running");
        assert.equal(inst?.tags[TAGS.adaptor], adaptorId);
        await adaptor.stopVM(id);
        assert.deepEqual(await provider.list({ [TAGS.sandbox]: id }), []);
        if (inst) await put.assertGone?.(provider, inst.id);
      } finally {
        await adaptor.close();
      }
    });

    test("after an adaptor restart: a live pod's VM is re-attached, a gone pod's VM deleted, an unrecorded instance deleted", {
      skip,
    }, async () => {
      const id = newId();
      const owner = join(owners, id);
      writeFileSync(owner, id);
      const first = await open(put.make(work));
      const { agentSocketPath } = await first.createVM({
        id,
        annotations: annotations("conf-b", owner),
        networkNamespacePath: "",
      });
      await first.startVM(id);
      // The adaptor dies (no StopVM): the VM keeps running, its proxy is gone.
      await first.close();
      await assert.rejects(health(agentSocketPath));
      // An instance made by this adaptor id that no record knows (a crash between create and record).
      const provider = put.make(work);
      const stray = await provider.create({
        name: `stray-${id.slice(0, 8)}`,
        sandboxId: "stray",
        podName: "stray",
        podNamespace: "default",
        instanceType: "t",
        vcpus: 1,
        memoryMiB: put.memoryMiB ?? 1024,
        image: "default",
        userData: "#cloud-config\nwrite_files: []\n",
        insecureRegistries: [],
        forwardPorts: [],
        tags: { [TAGS.adaptor]: adaptorId, [TAGS.sandbox]: "stray" },
      });
      const log: string[] = [];
      const second = await open(provider, log);
      try {
        const r1 = await second.collectGarbage();
        assert.deepEqual(
          r1.deleted.map((d) => d.id),
          [stray.id],
          log.join("\n"),
        );
        assert.equal(r1.adopted.length, 1);
        assert.deepEqual(
          await health(agentSocketPath),
          [0x08, 0x01],
          "the live pod's agent answers again",
        );
        await put.assertGone?.(provider, stray.id);
        // The pod goes while the adaptor is down (its runtime removed the owner file).
        await second.close();
        rmSync(owner);
        const third = await open(provider, log);
        try {
          const r2 = await third.collectGarbage();
          assert.equal(r2.deleted.length, 1, log.join("\n"));
          assert.match(r2.deleted[0]?.why ?? "", /owner .* is gone/);
          assert.deepEqual(await provider.list({ [TAGS.adaptor]: adaptorId }), [], "no VM is left");
          assert.deepEqual(third.sandboxes(), []);
        } finally {
          await third.close();
        }
      } finally {
        await second.close();
      }
    });
  });
}
