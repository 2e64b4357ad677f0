import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { createProcessSandboxBackend, sampleLaunchField } from "./process.js";
import { sandboxConformance } from "./sandbox.suite.js";

sandboxConformance("process", () => createProcessSandboxBackend());

test("the sample launch field is the init-data digest with the algorithm it names", () => {
  for (const alg of ["sha256", "sha384", "sha512"]) {
    const toml = `version = "0.1.0"\nalgorithm = "${alg}"\n[data]\n`;
    assert.deepEqual(
      sampleLaunchField(Buffer.from(toml)),
      new Uint8Array(createHash(alg).update(toml).digest()),
    );
  }
  for (const bad of ["garbage = [", 'version = "0.2.0"\nalgorithm = "sha256"\n', ""]) {
    assert.throws(() => sampleLaunchField(Buffer.from(bad)), { code: "ERR_POD_INITDATA" });
  }
});
