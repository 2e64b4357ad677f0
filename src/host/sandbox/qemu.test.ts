import assert from "node:assert/strict";
import { test } from "node:test";
import { createQemuSandboxBackend } from "./qemu.js";
import { sandboxConformance } from "./sandbox.suite.js";

sandboxConformance("qemu", () => createQemuSandboxBackend());

test("the qemu sandbox fails loudly until it is built", async () => {
  await assert.rejects(
    createQemuSandboxBackend().start({ id: "x", stateDir: "/nonexistent" }),
    (e: { code?: string }) => e.code === "ERR_SANDBOX_NOT_BUILT",
  );
});
