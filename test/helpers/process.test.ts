import assert from "node:assert/strict";
import { test } from "node:test";
import { freePort } from "./ports.js";
import { ProcessError, startProcess } from "./process.js";

test("freePort returns a usable loopback port", async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
});

test("a process that exits before it is ready gives ERR_PROCESS_EXITED with its output", async () => {
  const port = await freePort();
  await assert.rejects(
    startProcess({
      name: "quitter",
      command: process.execPath,
      args: ["-e", "console.error('boom: cannot bind'); process.exit(3)"],
      ready: { kind: "tcp", port },
    }),
    (err: unknown) => {
      assert.ok(err instanceof ProcessError);
      assert.equal(err.code, "ERR_PROCESS_EXITED");
      assert.match(err.message, /quitter: exited with exit code 3/);
      assert.match(err.message, /boom: cannot bind/);
      return true;
    },
  );
});

test("a command that does not exist gives ERR_PROCESS_START", async () => {
  await assert.rejects(
    startProcess({ command: "/nonexistent/coco-binary", ready: { kind: "none" } }),
    (err: unknown) => err instanceof ProcessError && err.code === "ERR_PROCESS_START",
  );
});

test("a process that never answers gives ERR_PROCESS_TIMEOUT and is stopped", async () => {
  const port = await freePort();
  await assert.rejects(
    startProcess({
      name: "sleeper",
      command: process.execPath,
      args: ["-e", "setTimeout(() => {}, 60000)"],
      ready: { kind: "tcp", port },
      timeoutMs: 300,
    }),
    (err: unknown) => err instanceof ProcessError && err.code === "ERR_PROCESS_TIMEOUT",
  );
});

test("an HTTP server becomes ready and stop() ends it by PID", async () => {
  const port = await freePort();
  const proc = await startProcess({
    name: "http-server",
    command: process.execPath,
    args: [
      "-e",
      `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`,
    ],
    ready: { kind: "http", url: `http://127.0.0.1:${port}/` },
  });
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), "ok");
  } finally {
    await proc.stop();
  }
  assert.throws(() => process.kill(proc.pid, 0), { code: "ESRCH" });
});
