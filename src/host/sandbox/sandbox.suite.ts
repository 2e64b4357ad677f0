import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { cleanUpOnExit } from "../../../test/helpers/cleanup.js";
import { encodeAgentMessage } from "../../protocol/agent/index.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";
import { newId } from "../runtime/requests.js";
import type { SandboxBackend } from "./sandbox.js";

/**
 * The conformance suite every sandbox backend runs: it starts, its agent answers health checks,
 * a sandbox without a policy denies every request (no allow-all default), and it stops cleanly.
 */
export function sandboxConformance(name: string, make: () => SandboxBackend): void {
  describe(`sandbox conformance: ${name}`, async () => {
    const backend = make();
    const skip = await backend.unavailable();
    const work = mkdtempSync(join(tmpdir(), `coco-sbx-${name}-`));
    // A sandbox still starting when its test timed out or the file was cancelled is killed
    // with everything else under `work`.
    after(cleanUpOnExit(work));

    test("starts, answers grpc.Health/Check, and stops", { skip }, async (t) => {
      const sb = await backend.start({ id: newId(), stateDir: join(work, "a"), signal: t.signal });
      assert.equal(sb.kind, backend.kind);
      const client = new TtrpcClient(sb.agentAddress);
      const r = await client.callRaw("grpc.Health", "Check", new Uint8Array(0));
      assert.deepEqual([...r], [0x08, 0x01]); // status = SERVING
      client.close();
      await sb.stop();
      await sb.exited;
    });

    test("without a policy every request is denied (deny by default)", { skip }, async (t) => {
      const sb = await backend.start({ id: newId(), stateDir: join(work, "b"), signal: t.signal });
      const client = new TtrpcClient(sb.agentAddress);
      try {
        await assert.rejects(
          client.callRaw(
            "grpc.AgentService",
            "CreateSandbox",
            encodeAgentMessage("CreateSandboxRequest", { hostname: "x" }),
          ),
          (e: { grpcCode?: number; message?: string }) =>
            e.grpcCode === 7 && /CreateSandboxRequest is blocked by policy/.test(e.message ?? ""),
        );
        await assert.rejects(
          client.callRaw(
            "grpc.AgentService",
            "SetPolicy",
            encodeAgentMessage("SetPolicyRequest", {
              policy: "package agent_policy\ndefault SetPolicyRequest := true",
            }),
          ),
          (e: { grpcCode?: number }) => e.grpcCode === 7,
        );
      } finally {
        client.close();
        await sb.stop();
      }
    });
  });
}
