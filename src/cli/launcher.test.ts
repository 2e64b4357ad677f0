import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { hasCode } from "../errors.js";
import { launcherScript, writeLauncher } from "./launcher.js";

const dir = mkdtempSync(join(tmpdir(), "cli-launcher-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("installed-program launchers", () => {
  test("run the entry on the installing Node.js even with no node on PATH", () => {
    const entry = join(dir, "it's an entry.mjs");
    writeFileSync(
      entry,
      "console.log(JSON.stringify({ v: process.version, a: process.argv.slice(2) }));\n",
    );
    const dest = join(dir, "containerd-shim-test-v2");
    writeLauncher(dest, entry);
    assert.equal(statSync(dest).mode & 0o777, 0o755);
    const out = execFileSync(dest, ["a b", "$HOME", "'q'"], {
      env: { PATH: "/nonexistent" },
      encoding: "utf8",
    });
    assert.deepEqual(JSON.parse(out), { v: process.version, a: ["a b", "$HOME", "'q'"] });
  });

  test("refuses relative paths and line breaks", () => {
    assert.throws(
      () => launcherScript("dist/main.js"),
      (e) => hasCode(e, "ERR_LAUNCHER_PATH"),
    );
    assert.throws(
      () => launcherScript("/x/main.js", "node"),
      (e) => hasCode(e, "ERR_LAUNCHER_PATH"),
    );
    assert.throws(
      () => launcherScript("/x/main.js\nrm -rf /"),
      (e) => hasCode(e, "ERR_LAUNCHER_PATH"),
    );
  });
});
