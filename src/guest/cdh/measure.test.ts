import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createSampleAttester } from "../aa/attester/sample/sample.js";
import { parseAaConfig } from "../aa/config.js";
import { startAttestationAgent } from "../aa/daemon.js";
import { imagePullContent, recordImagePull } from "./measure.js";

const dir = mkdtempSync(join(tmpdir(), "cdh-measure-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("image pull measurement", () => {
  test("content matches upstream's format", () => {
    assert.equal(
      imagePullContent("docker.io/library/busybox:latest", "sha256:ab"),
      '{"image":"docker.io/library/busybox:latest", "digest":"sha256:ab"}',
    );
  });

  test("no AA socket: nothing recorded; AA without event log: NOT_ENABLED (not an error)", async () => {
    assert.equal(await recordImagePull(`unix://${join(dir, "none.sock")}`, "x", "y"), "NO_AA");
    const aa = await startAttestationAgent({
      socket: `unix://${join(dir, "aa.sock")}`,
      config: parseAaConfig(""),
      attester: createSampleAttester(),
    });
    try {
      const lines: string[] = [];
      assert.equal(await recordImagePull(aa.socket, "x", "y", (l) => lines.push(l)), "NOT_ENABLED");
      assert.match(lines.join(""), /NOT_ENABLED/);
    } finally {
      await aa.close();
    }
  });
});
