import assert from "node:assert/strict";
import { test } from "node:test";
import { createQemuSandboxBackend } from "./qemu.js";
import { findQemu } from "./qemu-host.js";

// What the qemu backend refuses before booting anything.
test("a confidential (TDX/SNP) qemu sandbox is refused loudly, not faked", async () => {
  const b = createQemuSandboxBackend({ tee: "tdx" });
  assert.match(String(await b.unavailable()), /not built/);
  await assert.rejects(
    b.start({ id: "x", stateDir: "/nonexistent" }),
    (e: { code?: string }) => e.code === "ERR_SANDBOX_NOT_BUILT",
  );
});

test("names a missing guest image precisely instead of failing at boot", async () => {
  const saved = process.env.COCO_GUEST_DIR;
  process.env.COCO_GUEST_DIR = "/nonexistent/guest";
  try {
    const why = await createQemuSandboxBackend().unavailable();
    assert.ok(why, "a missing image makes the backend unavailable");
    if (findQemu())
      assert.match(String(why), /COCO_GUEST_DIR=\/nonexistent\/guest holds no vmlinuz/);
  } finally {
    if (saved === undefined) delete process.env.COCO_GUEST_DIR;
    else process.env.COCO_GUEST_DIR = saved;
  }
});
