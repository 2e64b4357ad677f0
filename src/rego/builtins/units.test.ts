import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RegoError } from "../errors.js";
import type { Value } from "../value/value.js";
import type { BuiltinContext } from "./types.js";
import { unitsBuiltins } from "./units.js";

const ctx = (): BuiltinContext => ({ strict: true, nowNs: 0n, cache: new Map() });
const call = (name: string, ...args: Value[]) => unitsBuiltins[name]!.fn(args, ctx());
const fails = (name: string, text: string, arg: Value) =>
  assert.throws(
    () => call(name, arg),
    (e: unknown) =>
      e instanceof RegoError &&
      e.code === "ERR_REGO_BUILTIN" &&
      e.message === `${name}: ${name}: ${text}`,
  );

describe("units builtins", () => {
  it("parses SI and binary units exactly, with m as milli", () => {
    assert.equal(call("units.parse", "500m"), 0.5);
    assert.equal(call("units.parse", "1.1Ki"), 1126.4);
    assert.equal(call("units.parse", "-3.5E2m"), -0.35);
    assert.equal(call("units.parse", "10Ei"), 11529215046068469760n);
  });

  it("parse_bytes is case-insensitive and truncates", () => {
    assert.equal(call("units.parse_bytes", "1.1KiB"), 1126);
    assert.equal(call("units.parse_bytes", '"10MB"'), 10_000_000);
    assert.equal(call("units.parse_bytes", "1e-2KB"), 10);
  });

  it("rejects malformed amounts with upstream's messages", () => {
    fails("units.parse_bytes", "no byte amount provided", "GB");
    fails("units.parse_bytes", "could not parse byte amount to a number", "0.0.0");
    fails("units.parse_bytes", "spaces not allowed in resource strings", "1 kb");
    fails("units.parse_bytes", "byte unit xb not recognized", "1xb");
    fails("units.parse_bytes", "exponent too large", "1e1234567");
    fails("units.parse", "unit Q not recognized", "1Q");
    fails("units.parse", "no amount provided", "");
    fails("units.parse", "unit /3 not recognized", "1/3");
    assert.throws(
      () => call("units.parse", 5),
      (e: unknown) => e instanceof RegoError && e.code === "ERR_REGO_TYPE",
    );
  });
});
