import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { encodeAgentMessage } from "../../protocol/agent/index.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";
import { createEngine } from "../../rego/index.js";
import { createRunc } from "./container/runc.js";
import { createAgentPolicy } from "./policy/agent-policy.js";
import { createAgentServer } from "./server.js";
import { AgentService } from "./service.js";
import { agentPaths } from "./storage.js";

const work = mkdtempSync(join(tmpdir(), "coco-agent-srv-"));
const address = `unix://${join(work, "agent.sock")}`;
const policy = createAgentPolicy({
  newEngine: () => createEngine(),
  policy: `package agent_policy
import rego.v1
default CreateSandboxRequest := false
CreateSandboxRequest if input.hostname == "ok"
default GuestDetailsRequest := true
default SetPolicyRequest := false
default ReadStreamRequest := false
default ListRoutesRequest := true
`,
});
const service = new AgentService({
  paths: agentPaths(join(work, "run")),
  runc: createRunc({ root: join(work, "runc") }),
  images: {
    pull: async () => {
      throw new Error("no images in this test");
    },
  },
  secrets: {
    unseal: async () => {
      throw new Error("no secrets in this test");
    },
  },
});
const server = createAgentServer({ service, policy });
let client: TtrpcClient;

const status = (code: number, message?: RegExp) => (e: unknown) => {
  const err = e as { grpcCode?: number; message?: string };
  return err.grpcCode === code && (message === undefined || message.test(err.message ?? ""));
};

before(async () => {
  await server.listen(address);
  client = new TtrpcClient(address);
});

after(async () => {
  client.close();
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

describe("agent ttrpc edge", () => {
  test("answers Health/Check SERVING and Version", async () => {
    assert.deepEqual(
      [...(await client.callRaw("grpc.Health", "Check", new Uint8Array(0)))],
      [8, 1],
    );
    assert.ok((await client.callRaw("grpc.Health", "Version", new Uint8Array(0))).length > 0);
  });

  test("garbage request bytes are INVALID_ARGUMENT and the agent keeps serving", async () => {
    await assert.rejects(
      client.callRaw("grpc.AgentService", "CreateContainer", new Uint8Array([0xff, 0xff, 0xff])),
      status(3),
    );
    assert.ok(await client.callRaw("grpc.Health", "Check", new Uint8Array(0)));
  });

  test("a denied request is PERMISSION_DENIED naming the request, as upstream", async () => {
    await assert.rejects(
      client.callRaw(
        "grpc.AgentService",
        "CreateSandbox",
        encodeAgentMessage("CreateSandboxRequest", { hostname: "evil" }),
      ),
      status(7, /^CreateSandboxRequest is blocked by policy/),
    );
    await assert.rejects(
      client.callRaw(
        "grpc.AgentService",
        "SetPolicy",
        encodeAgentMessage("SetPolicyRequest", { policy: "package x" }),
      ),
      status(7, /SetPolicyRequest is blocked by policy/),
    );
  });

  test("an allowed request runs; agent errors map to gRPC codes", async () => {
    await client.callRaw(
      "grpc.AgentService",
      "CreateSandbox",
      encodeAgentMessage("CreateSandboxRequest", { hostname: "ok", sandboxId: "sb" }),
    );
    await assert.rejects(
      client.callRaw(
        "grpc.AgentService",
        "CreateSandbox",
        encodeAgentMessage("CreateSandboxRequest", { hostname: "ok" }),
      ),
      status(6),
    );
    const details = await client.callRaw(
      "grpc.AgentService",
      "GetGuestDetails",
      encodeAgentMessage("GuestDetailsRequest", {}),
    );
    assert.match(Buffer.from(details).toString("latin1"), /coco-ts-agent/);
  });

  test("a denied stream read of an unknown process is still NOT_FOUND (drain needs a process)", async () => {
    await assert.rejects(
      client.callRaw(
        "grpc.AgentService",
        "ReadStdout",
        encodeAgentMessage("ReadStreamRequest", { containerId: "nope", len: 10 }),
      ),
      status(5),
    );
  });

  test("RPCs the agent does not serve are policy-checked, then UNIMPLEMENTED; unknown methods NOT_FOUND", async () => {
    // UpdateRoutes: no rule in the policy, so denied before anything else (as upstream).
    await assert.rejects(
      client.callRaw("grpc.AgentService", "UpdateRoutes", new Uint8Array(0)),
      status(7, /UpdateRoutesRequest is blocked by policy/),
    );
    // ListRoutes: allowed by this policy, but the agent configures no network: UNIMPLEMENTED.
    await assert.rejects(
      client.callRaw("grpc.AgentService", "ListRoutes", new Uint8Array(0)),
      status(12),
    );
    await assert.rejects(
      client.callRaw("grpc.AgentService", "NoSuchMethod", new Uint8Array(0)),
      status(5),
    );
  });
});
