import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { TtrpcServer } from "./server.js";

test("a ttrpc socket is 0600 whatever the umask (issue #15: not 0777 under umask 000)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-ttrpc-mode-"));
  const old = process.umask(0);
  const server = new TtrpcServer();
  try {
    await server.listen(`unix://${join(dir, "run", "aa.sock")}`);
    assert.equal(statSync(join(dir, "run", "aa.sock")).mode & 0o777, 0o600);
    assert.equal(
      statSync(join(dir, "run")).mode & 0o022,
      0,
      "a folder it creates is not writable by others",
    );
  } finally {
    process.umask(old);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
