import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { repoRoot, sharedPath, sharedSkip } from "../../test/helpers/paths.js";
import { createEngine, type JsonValue } from "./index.js";

const testdata = join(repoRoot, "src", "rego", "testdata");

function earInput(productId: string, svn: number): JsonValue {
  return {
    submods: {
      cpu0: {
        "ear.status": "affirming",
        "ear.trustworthiness-vector": { executables: 2, hardware: 3 },
        "ear.veraison.annotated-evidence": { sample: { productId, svn } },
      },
    },
  };
}

/** Evaluates a KBS resource policy the way Trustee's KBS does (strict, data = the request). */
function kbsAllow(policy: string, resourcePath: string, input: JsonValue): JsonValue | undefined {
  const e = createEngine();
  e.addPolicy("policy.rego", policy);
  e.addData({ plugin: "resource", "resource-path": resourcePath.split("/") });
  e.setInput(input);
  return e.evalRule("data.policy.allow");
}

describe("Trustee KBS resource policies (upstream policy-engine test table)", () => {
  const skip = sharedSkip("fixtures/evidence/policy/policy_1.rego");
  const read = (n: number) =>
    readFileSync(sharedPath(`fixtures/evidence/policy/policy_${n}.rego`), "utf8");
  // [resource path, svn, policy, expected] as in Trustee's deps/policy-engine rstest table.
  const table: [string, number, number, boolean][] = [
    ["my_repo/Alice/key", 1, 1, false],
    ["my_repo/Alice/key", 1, 4, false],
    ["my_repo/Alice/key", 1, 3, false],
    ["myrepo/secret/secret1", 2, 5, true],
    ["myrepo/secret/secret1", 1, 5, false],
    ["myrepo/secret/secret2", 3, 5, true],
    ["myrepo/secret/secret2", 2, 5, false],
    ["myrepo/secret/secret3", 3, 5, false],
    ["a/b/secret2", 3, 5, false],
    ["abc", 3, 5, false],
  ];
  for (const [path, svn, n, want] of table) {
    test(`policy_${n} on ${path} with svn ${svn} gives ${want}`, { skip }, () => {
      assert.equal(kbsAllow(read(n), path, earInput("n", svn)), want);
    });
  }
  test("policy_1 and policy_4 allow when the product id names the repository", { skip }, () => {
    assert.equal(kbsAllow(read(1), "my_repo/Alice/key", earInput("Alice", 1)), true);
    assert.equal(kbsAllow(read(4), "my_repo/Alice/key", earInput("Alice", 1)), true);
    assert.equal(kbsAllow(read(4), "my_repo/Alice", earInput("Alice", 1)), false);
  });
  test("policy_2 allows everything and policy_3 nothing", { skip }, () => {
    assert.equal(kbsAllow(read(2), "a/b/c", {}), true);
    assert.equal(kbsAllow(read(3), "a/b/c", earInput("a", 9)), false);
  });
  test("a policy whose body does not match stays at its default, never undefined", { skip }, () => {
    assert.equal(kbsAllow(read(5), "myrepo/secret/secret1", {}), false);
  });
});

describe("KBS default-style policy", () => {
  const text = readFileSync(join(testdata, "kbs-default.rego"), "utf8");
  const tv = (status: string, executables: number, hardware: number) => ({
    submods: {
      cpu0: { "ear.status": status, "ear.trustworthiness-vector": { executables, hardware } },
    },
  });
  test("allows affirming, and warning with good claims; denies the rest", () => {
    assert.equal(kbsAllow(text, "r/t/n", tv("affirming", 33, 97)), true);
    assert.equal(kbsAllow(text, "r/t/n", tv("warning", 3, 2)), true);
    assert.equal(kbsAllow(text, "r/t/n", tv("warning", 33, 2)), false);
    assert.equal(kbsAllow(text, "r/t/n", tv("contraindicated", 3, 2)), false);
    assert.equal(kbsAllow(text, "r/t/n", {}), false);
  });
});

describe("EAR appraisal policy with query_reference_value", () => {
  const text = readFileSync(join(testdata, "ear-cpu.rego"), "utf8");
  const refs: Record<string, JsonValue> = {
    launch_digest: ["abcde"],
    svn: [1, 2],
    major_version: 1,
    minimum_minor_version: 3,
    rtmr_1: ["r1"],
    tdvfkernel: "kd",
  };
  const appraise = (input: JsonValue, rv: Record<string, JsonValue> = refs) => {
    const e = createEngine();
    const calls: JsonValue[] = [];
    e.registerFunction("query_reference_value", 1, (id) => {
      calls.push(id as JsonValue);
      const v = rv[id as string];
      return v === undefined ? null : v;
    });
    e.addPolicy("policy.rego", text);
    e.setInput(input);
    return {
      claims: e.evalRule("data.policy.trust_claims"),
      ext: e.evalRule("data.policy.extensions"),
      calls,
    };
  };
  const sample = {
    sample: {
      launch_digest: "abcde",
      svn: 2,
      platform_version: { major: 1, minor: 4 },
      debug: false,
    },
  };

  test("a sample TEE matching every reference value is affirmed", () => {
    const r = appraise(sample);
    assert.deepEqual(r.claims, { executables: 3, hardware: 2, configuration: 2, "file-system": 0 });
    assert.ok(r.calls.includes("launch_digest"));
  });

  test("a reference value the RVPS lacks (null) fails the claim without an error", () => {
    const { launch_digest: _, ...noDigest } = refs;
    const r = appraise(sample, noDigest);
    assert.equal((r.claims as Record<string, JsonValue>).executables, 33);
  });

  test("else chains pick the fallback claim value", () => {
    const tdx = {
      tdx: {
        quote: { header: { tee_type: "81000000" }, body: { rtmr_1: "r1" } },
        tcb_status: "UpToDate",
        uefi_event_logs: [],
      },
    };
    assert.equal((appraise(tdx).claims as Record<string, JsonValue>).executables, 4);
    const withKernel = {
      tdx: {
        ...tdx.tdx,
        uefi_event_logs: [
          {
            type_name: "EV_EFI_BOOT_SERVICES_APPLICATION",
            details: { device_paths: ["File(kernel)"] },
            digests: [{ digest: "kd" }],
          },
        ],
      },
    };
    assert.equal((appraise(withKernel).claims as Record<string, JsonValue>).executables, 3);
  });

  test("two TEE sections agreeing is fine; disagreeing is eval_conflict_error", () => {
    const e = createEngine();
    e.addPolicy(
      "p.rego",
      "package p\nx := 1 if input.a\nx := 2 if input.b\ny := 1 if input.a\ny := 1 if input.b\n",
    );
    e.setInput({ a: true, b: true });
    assert.equal(e.evalRule("data.p.y"), 1);
    assert.throws(() => e.evalRule("data.p.x"), {
      code: "ERR_REGO_CONFLICT",
      opaCode: "eval_conflict_error",
    });
  });

  test("extensions collect init-data identifiers, and are empty objects without them", () => {
    const input = {
      ...sample,
      init_data_claims: {
        agent_policy_claims: {
          containers: [
            {
              OCI: {
                Annotations: { "io.kubernetes.cri.image-name": "pause" },
                Process: { User: { UID: 65535 } },
              },
            },
            {
              OCI: {
                Annotations: { "io.kubernetes.cri.image-name": "nginx" },
                Process: { User: { UID: 0 } },
              },
            },
          ],
        },
      },
    };
    assert.deepEqual(appraise(input).ext, [
      {
        key: -18,
        name: "ear.trustee.identifiers",
        value: { validated: { container_images: ["pause", "nginx"], container_uids: [65535, 0] } },
      },
    ]);
    assert.deepEqual(appraise(sample).ext, [
      { key: -18, name: "ear.trustee.identifiers", value: { validated: {} } },
    ]);
  });
});
