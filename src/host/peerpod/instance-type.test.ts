import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PEERPOD_ANNOTATIONS as A } from "../../protocol/peerpod/index.js";
import { parseInstanceTypes, selectInstance } from "./instance-type.js";
import { instanceName } from "./names.js";

const cfg = {
  types: parseInstanceTypes("small=1:1024,default=2:2048,large=4:4096,wide=8:2048"),
  defaultType: "default",
  images: ["podvm-debug"],
  defaultImage: "default",
};
const code = (c: string) => (e: { code?: string }) => e.code === c;

describe("instance type selection (cloud-api-adaptor's rules)", () => {
  test("machine_type wins, and must be offered", () => {
    assert.equal(
      selectInstance({ [A.machineType]: "large", [A.vcpus]: "1" }, cfg).type.name,
      "large",
    );
    assert.throws(
      () => selectInstance({ [A.machineType]: "huge" }, cfg),
      code("ERR_PEERPOD_INSTANCE_TYPE"),
    );
  });
  test("vCPUs and memory pick the smallest type that fits, memory first", () => {
    assert.equal(selectInstance({ [A.vcpus]: "2" }, cfg).type.name, "default");
    assert.equal(selectInstance({ [A.memory]: "1500" }, cfg).type.name, "default");
    assert.equal(selectInstance({ [A.vcpus]: "5" }, cfg).type.name, "wide");
    assert.equal(selectInstance({ [A.vcpus]: "3", [A.memory]: "3000" }, cfg).type.name, "large");
    assert.throws(
      () => selectInstance({ [A.memory]: "9000" }, cfg),
      code("ERR_PEERPOD_INSTANCE_TYPE"),
    );
  });
  test("no annotation: the default type and image", () => {
    const c = selectInstance({}, cfg);
    assert.deepEqual([c.type.name, c.image], ["default", "default"]);
  });
  test("annotations that do not parse are refused, not read as 0", () => {
    for (const v of ["two", "-1", "0", "1e3", "99999999"])
      assert.throws(
        () => selectInstance({ [A.vcpus]: v }, cfg),
        code("ERR_PEERPOD_INSTANCE_TYPE"),
        v,
      );
  });
  test("an image must be allow-listed", () => {
    assert.equal(selectInstance({ [A.image]: "podvm-debug" }, cfg).image, "podvm-debug");
    assert.throws(
      () => selectInstance({ [A.image]: "/etc/shadow" }, cfg),
      code("ERR_PEERPOD_INSTANCE_TYPE"),
    );
  });
  test("instance type lists are checked", () => {
    for (const bad of ["", "x", "a=1", "a=0:1024", "a=1:10", "a=1:1024,a=2:2048", "a b=1:1024"])
      assert.throws(() => parseInstanceTypes(bad), code("ERR_PEERPOD_INSTANCE_TYPE"), bad);
  });
});

describe("instance names", () => {
  test("a DNS label of at most 63 characters ending in the sandbox id's first 8", () => {
    const id = "0123456789abcdef".repeat(4);
    assert.equal(instanceName("podvm", "web", id), "podvm-web-01234567");
    const long = instanceName("podvm", "A_Very.Long_Pod".repeat(8), id);
    assert.ok(long.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(long), long);
    assert.ok(long.endsWith("-01234567"));
  });
});
