import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEngine } from "../index.js";

const deps = (body: string, host: string[] = []) => {
  const e = createEngine();
  for (const h of host) e.registerFunction(h, 1, () => null);
  e.addPolicy("p.rego", `package p\nimport rego.v1\n${body}\n`);
  return e.dependencies();
};

describe("policy dependencies", () => {
  test("lists the constant prefixes of input references", () => {
    const d = deps(`allow if {\n input.a.b == 1\n input.c[x] == 2\n some y in input.d\n y > 0\n}`);
    assert.deepEqual(d.inputPaths, [["a", "b"], ["c"], ["d"]]);
    assert.equal(d.deterministic, true);
  });

  test("a bare input, a variable first key or with input means the whole input", () => {
    assert.equal(deps(`allow if count(input) > 0`).inputPaths, undefined);
    assert.equal(deps(`allow if {\n some k\n input[k] == 1\n}`).inputPaths, undefined);
    assert.equal(deps(`f(x) := x\nallow if f(input) == 1`).inputPaths, undefined);
    assert.equal(deps(`r if input.a\nallow if r with input as {"a": 1}`).inputPaths, undefined);
    assert.equal(deps(`allow if {\n some k, v in input\n v == k\n}`).inputPaths, undefined);
  });

  test("input read through an import alias, a function or a comprehension is found", () => {
    const d = deps(
      `import input.x.y as z\nf(v) := v + input.w\nallow if {\n z.q == 1\n f(2) == 3\n [1 | input.u.v]\n}`,
    );
    assert.deepEqual([...(d.inputPaths ?? [])].map((p) => p.join(".")).sort(), [
      "u.v",
      "w",
      "x.y.q",
    ]);
  });

  test("clock, randomness and network builtins make a policy non-deterministic", () => {
    for (const call of [
      "time.now_ns()",
      'rand.intn("a", 10)',
      'uuid.rfc4122("a")',
      `io.jwt.decode_verify("a", {"secret": "b"})`,
      `io.jwt.encode_sign({"alg": "HS256"}, {}, {"kty": "oct", "k": "YQ"})`,
      `crypto.x509.parse_and_verify_certificates("")`,
      `http.send({"method": "get", "url": "http://127.0.0.1:1"})`,
    ]) {
      assert.equal(deps(`x := ${call}`).deterministic, false, call);
    }
    assert.equal(deps(`x := count([1]) + to_number("2")`).deterministic, true);
  });

  test("host functions are named", () => {
    const d = deps(`x := query_reference_value("a")`, ["query_reference_value"]);
    assert.deepEqual(d.hostFunctions, ["query_reference_value"]);
    assert.equal(d.deterministic, true);
  });
});
