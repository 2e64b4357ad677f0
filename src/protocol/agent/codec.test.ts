import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AGENT_METHODS,
  agentMessage,
  decodeAgentMessage,
  encodeAgentMessage,
  MAX_AGENT_MESSAGE,
  toKataJson,
  toPolicyInput,
} from "./index.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("encodes StartContainerRequest with upstream field numbers", () => {
  // field 1 (container_id), wire type 2, length 3, "abc"
  assert.equal(
    hex(encodeAgentMessage("StartContainerRequest", { containerId: "abc" })),
    "0a03616263",
  );
});

test("encodes CreateContainerRequest.OCI as field 6 and Storage.mount_point as field 6", () => {
  const bytes = encodeAgentMessage("CreateContainerRequest", {
    OCI: { Hostname: "h" },
    storages: [{ mountPoint: "/m" }],
  });
  // storages (5) = 2a 04 [32 02 2f 6d]; OCI (6) = 32 03 [22 01 68] (Spec.Hostname = 4)
  assert.equal(hex(bytes), "2a0432022f6d3203220168");
});

test("round-trips a request through bytes", () => {
  const bytes = encodeAgentMessage("ExecProcessRequest", {
    containerId: "c1",
    execId: "e1",
    process: { Args: ["/bin/sh", "-c", "id"], Env: ["A=1"], Cwd: "/" },
  });
  const back = decodeAgentMessage<{ process: { Args: string[] } }>("ExecProcessRequest", bytes);
  assert.deepEqual(back.process.Args, ["/bin/sh", "-c", "id"]);
});

test("rejects a truncated message", () => {
  const bytes = encodeAgentMessage("StartContainerRequest", { containerId: "abcdef" });
  assert.throws(
    () => decodeAgentMessage("StartContainerRequest", bytes.subarray(0, 4)),
    (e: { code?: string }) => e.code === "ERR_AGENT_PROTO_DECODE",
  );
});

test("rejects garbage bytes", () => {
  assert.throws(
    () => decodeAgentMessage("CreateContainerRequest", new Uint8Array([0xff, 0xff, 0xff, 0xff])),
    (e: { code?: string }) => e.code === "ERR_AGENT_PROTO_DECODE",
  );
});

test("rejects an oversized message before decoding", () => {
  assert.throws(
    () => decodeAgentMessage("CopyFileRequest", new Uint8Array(MAX_AGENT_MESSAGE + 1)),
    (e: { code?: string }) => e.code === "ERR_AGENT_PROTO_TOO_LARGE",
  );
});

test("policy input matches kata's serde shape: defaults present, null messages, type_", () => {
  const msg = decodeAgentMessage(
    "CreateContainerRequest",
    encodeAgentMessage("CreateContainerRequest", {
      containerId: "c",
      OCI: {
        Mounts: [{ destination: "/proc", type: "proc", source: "proc", options: ["nosuid"] }],
        Annotations: { "io.kubernetes.cri.container-type": "container" },
      },
    }),
  );
  const input = toPolicyInput("CreateContainerRequest", msg);
  assert.equal(input.string_user, null);
  assert.equal(input.sandbox_pidns, false);
  assert.deepEqual(input.shared_mounts, []);
  const oci = input.OCI as Record<string, unknown>;
  assert.equal(oci.Hooks, null);
  assert.equal(oci.Version, "");
  assert.deepEqual(oci.Mounts, [
    { destination: "/proc", source: "proc", type_: "proc", options: ["nosuid"] },
  ]);
  assert.deepEqual(oci.Annotations, { "io.kubernetes.cri.container-type": "container" });
});

test("CopyFile policy input carries the file type and symlink target, never the data", () => {
  const msg = decodeAgentMessage(
    "CopyFileRequest",
    encodeAgentMessage("CopyFileRequest", {
      path: "/run/x",
      fileMode: 0o120777,
      data: new TextEncoder().encode("target"),
    }),
  );
  const input = toPolicyInput("CopyFileRequest", msg);
  assert.equal(input.file_type, "Symlink");
  assert.equal(input.symlink_target, "target");
  assert.equal("data" in input, false);
});

test("every stated method names messages that exist", () => {
  for (const [name, spec] of Object.entries(AGENT_METHODS)) {
    if (spec.request !== "") assert.ok(agentMessage(spec.request), name);
    if (spec.response !== "") assert.ok(agentMessage(spec.response), name);
  }
});

test("every AgentService RPC of kata 4.1 has a decodable request (network RPCs included)", () => {
  assert.equal(Object.keys(AGENT_METHODS).length, 42);
  assert.deepEqual(AGENT_METHODS.UpdateRoutes, {
    request: "UpdateRoutesRequest",
    response: "grpc.Routes",
  });
  assert.equal(AGENT_METHODS.UpdateInterface?.response, "types.Interface");
  assert.equal(AGENT_METHODS.MemAgentMemcgSet?.request, "MemAgentMemcgConfig");
  assert.equal(AGENT_METHODS.GetVolumeStats?.response, "grpc.VolumeStatsResponse");
  assert.equal(AGENT_METHODS.ReadStderr?.request, "ReadStreamRequest");
});

test("golden bytes: UpdateInterfaceRequest carries types.Interface with raw_flags as field 8", () => {
  const bytes = encodeAgentMessage("UpdateInterfaceRequest", {
    interface: { name: "eth0", IPAddresses: [{ family: 1, address: "::1" }], rawFlags: 128 },
  });
  // interface (1) = 0a 13 [ name (2) 12 04 "eth0"; IPAddresses (3) 1a 07 [08 01 12 03 "::1"];
  // raw_flags (8) 40 80 01 ]
  assert.equal(hex(bytes), `0a12120465746830 1a07080112033a3a31 408001`.replaceAll(" ", ""));
});

test("LinuxSyscall's oneof ErrnoRet: field 3 on the wire, {errnoret: n} or null for the policy", () => {
  const set = encodeAgentMessage("LinuxSyscall", {
    Names: ["kill"],
    Action: "SCMP_ACT_ERRNO",
    ErrnoRet: { case: "errnoret", value: 0 },
  });
  // a oneof member is written even when 0 (explicit presence): 18 00
  assert.equal(hex(set), `0a046b696c6c120e${Buffer.from("SCMP_ACT_ERRNO").toString("hex")}1800`);
  const back = decodeAgentMessage("LinuxSyscall", set);
  assert.deepEqual(toKataJson(agentMessage("LinuxSyscall"), back).ErrnoRet, { errnoret: 0 });
  const unset = decodeAgentMessage("LinuxSyscall", encodeAgentMessage("LinuxSyscall", {}));
  assert.equal(toKataJson(agentMessage("LinuxSyscall"), unset).ErrnoRet, null);
});

test("proto3 optional fields of the memory agent configs are null when absent", () => {
  const bytes = encodeAgentMessage("MemAgentMemcgConfig", { disabled: false, periodSecs: 60n });
  // disabled (1) written although false (explicit presence); period_secs (4) = 60
  assert.equal(hex(bytes), "0800203c");
  const json = toKataJson(
    agentMessage("MemAgentMemcgConfig"),
    decodeAgentMessage("MemAgentMemcgConfig", bytes),
  );
  assert.equal(json.disabled, false);
  assert.equal(json.swap, null);
  assert.equal(json.period_secs, 60);
});

test("golden bytes: grpc.Health replies", () => {
  assert.equal(hex(encodeAgentMessage("HealthCheckResponse", { status: 1 })), "0801");
  assert.equal(
    hex(encodeAgentMessage("VersionCheckResponse", { grpcVersion: "1", agentVersion: "2" })),
    "0a01311201" + "32",
  );
});
