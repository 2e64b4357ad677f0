import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { request } from "node:https";
import { test } from "node:test";
import { REGISTRY_BIN, startRegistry } from "./registry.js";

const skip = existsSync(REGISTRY_BIN) ? false : `${REGISTRY_BIN} missing: run scripts/setup`;

test("plain registry answers /v2/ and stops by PID", { skip }, async () => {
  const reg = await startRegistry("plain");
  try {
    const res = await fetch(`${reg.url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
  } finally {
    await reg.stop();
  }
  assert.throws(() => process.kill(reg.process.pid, 0), { code: "ESRCH" });
});

test("basic-auth registry refuses anonymous and accepts its credentials", { skip }, async () => {
  const reg = await startRegistry("basic-auth");
  try {
    const anon = await fetch(`${reg.url}/v2/`);
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get("www-authenticate") ?? "", /^Basic /);
    const auth = Buffer.from(`${reg.username}:${reg.password}`).toString("base64");
    const ok = await fetch(`${reg.url}/v2/`, { headers: { authorization: `Basic ${auth}` } });
    assert.equal(ok.status, 200);
  } finally {
    await reg.stop();
  }
});

test("TLS registry is trusted only through the generated CA", { skip }, async () => {
  const reg = await startRegistry("tls");
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${reg.url}/v2/`, { ca: reg.caPem }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 200);
    await assert.rejects(fetch(`${reg.url}/v2/`));
  } finally {
    await reg.stop();
  }
});
