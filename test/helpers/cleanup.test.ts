import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { processesNaming, reapFolder } from "./cleanup.js";

const CLEANUP = fileURLToPath(new URL("./cleanup.js", import.meta.url));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a test file ended by SIGTERM (timeout, cancel) kills the detached processes naming its folder and removes it", async () => {
  // A stand-in for a test file: it owns a folder, starts a detached helper (as a VM's qemu and
  // mux are detached) naming that folder, and is then ended as the test runner ends it.
  const script = `
    import { spawn } from "node:child_process";
    import { mkdtempSync } from "node:fs";
    import { tmpdir } from "node:os";
    import { join } from "node:path";
    const { cleanUpOnExit } = await import(${JSON.stringify(CLEANUP)});
    const dir = mkdtempSync(join(tmpdir(), "coco-cleanup-test-"));
    cleanUpOnExit(dir);
    const vm = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", join(dir, "console.log")], { detached: true, stdio: "ignore" });
    vm.unref();
    console.log(JSON.stringify({ dir, pid: vm.pid }));
    setInterval(() => {}, 1000);
  `;
  const file = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  file.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  await until(() => out.includes("\n"));
  const { dir, pid } = JSON.parse(out) as { dir: string; pid: number };
  assert.ok(alive(pid) && existsSync(dir));
  assert.deepEqual(processesNaming(dir), [pid]);
  const exited = new Promise<number | null>((r) => file.once("exit", (code) => r(code)));
  file.kill("SIGTERM");
  assert.equal(await exited, 143);
  await until(() => !alive(pid));
  assert.equal(existsSync(dir), false);
});

test("reapFolder of a folder nothing names just removes it", () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-cleanup-empty-"));
  assert.deepEqual(reapFolder(dir), []);
  assert.equal(existsSync(dir), false);
});
