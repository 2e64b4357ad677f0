import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { demoRegoBuiltins } from "./rego-builtins.js";

describe("rego builtins demo", () => {
  it("allows only the valid request, with OPA agreeing on every decision", async () => {
    const lines: string[] = [];
    const r = await demoRegoBuiltins((l) => lines.push(l));
    assert.deepEqual(
      r.decisions.map((d) => d.allow),
      [true, false, false, false, false],
    );
    assert.deepEqual(r.decisions[4]?.reasons.sort(), [
      "client outside the cluster network",
      "host is not a cluster service",
    ]);
    // The opa binary is installed by scripts/setup; without it the cross-check is skipped.
    assert.ok(r.matchedOpa === 0 || r.matchedOpa === 5);
    assert.ok(lines.some((l) => l.startsWith("valid request: ALLOW")));
  });
});
