/**
 * The REST API against hostile pages and paths (issue #15): a browser in the guest that a page
 * has pointed at 127.0.0.1 through DNS rebinding sends the page's own Host header; ambiguous
 * paths never reach CDH.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { rawRequest } from "../../../../test/helpers/raw-http.js";
import { type ApiServer, startApiServer } from "./api-server.js";

describe("api-server-rest under hostile requests", () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-rest-hostile-"));
  let api: ApiServer;
  before(async () => {
    api = await startApiServer({
      bind: "127.0.0.1:0",
      features: "resource",
      // Nothing listens here: a request that reaches CDH fails with 500.
      aaAddr: `unix://${join(dir, "aa.sock")}`,
      cdhAddr: `unix://${join(dir, "cdh.sock")}`,
      timeoutMs: 2000,
    });
  });
  after(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a Host header that is not a loopback name is refused (DNS rebinding)", async () => {
    for (const host of [
      "evil.example",
      "evil.example:8006",
      "127.0.0.1.evil.example",
      "localhost.evil",
    ]) {
      const a = await rawRequest(api.url, "GET", "/info", undefined, { host });
      assert.equal(a.status, 403, `${host}: ${a.status} ${a.text}`);
    }
    for (const host of ["127.0.0.1", `127.0.0.1:${api.port}`, `localhost:${api.port}`, "[::1]"]) {
      const a = await rawRequest(api.url, "GET", "/info", undefined, { host });
      assert.equal(a.status, 200, `${host}: ${a.status} ${a.text}`);
    }
  });

  test("ambiguous resource paths are refused before CDH is called", async () => {
    for (const target of [
      "/cdh/resource/a%2Fb/c/d",
      "/cdh/resource/a/../b/c",
      "/cdh/resource/a//b/c",
      "/cdh/resource/a/b/%2e%2e",
      "/cdh/resource/a/b/c/",
    ]) {
      const a = await rawRequest(api.url, "GET", target);
      assert.equal(a.status, 400, `${target}: ${a.status} ${a.text}`);
    }
  });
});
