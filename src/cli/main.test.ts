import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("./main.js", import.meta.url));
const version = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

test("coco --version and -V print the package version (the fast path), as commander did", () => {
  for (const flag of ["--version", "-V"]) {
    const r = spawnSync(process.execPath, [cli, flag], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  }
  // With other words the command tree answers, as before.
  const r = spawnSync(process.execPath, [cli, "rego", "--version"], { encoding: "utf8" });
  assert.equal(r.stdout, `${version}\n`);
});
