import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createResourceHttp, type ResourceHttpOptions } from "./resource-http.js";

/** Runs `fn` against a loopback server answering with `handler`, then stops both. */
async function withServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  opts: ResourceHttpOptions,
  fn: (http: ReturnType<typeof createResourceHttp>) => Promise<void>,
): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const http = createResourceHttp(`http://127.0.0.1:${port}/prefix/`, opts);
  try {
    await fn(http);
  } finally {
    http.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

test("a GET sends the bearer token and If-None-Match and returns status, body, type and tag", async () => {
  const seen: Array<Record<string, unknown>> = [];
  await withServer(
    (req, res) => {
      seen.push({
        url: req.url,
        auth: req.headers.authorization,
        inm: req.headers["if-none-match"],
      });
      if (req.headers["if-none-match"] === '"t1"') {
        res.writeHead(304, { etag: '"t1"' });
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json", etag: '"t1"' });
      res.write('{"a":');
      setTimeout(() => res.end("1}"), 5);
    },
    {},
    async (http) => {
      const full = await http.get("/kbs/v0/resource/a/b/c", "tok");
      assert.equal(full.status, 200);
      assert.equal(Buffer.from(full.body).toString(), '{"a":1}', "a body in two chunks is joined");
      assert.equal(full.contentType, "application/json");
      assert.equal(full.etag, '"t1"');
      const cond = await http.get("/kbs/v0/resource/a/b/c", "tok", '"t1"');
      assert.equal(cond.status, 304);
      assert.equal(cond.body.length, 0);
      assert.equal(cond.etag, '"t1"');
    },
  );
  assert.deepEqual(seen, [
    { url: "/prefix/kbs/v0/resource/a/b/c", auth: "Bearer tok", inm: undefined },
    { url: "/prefix/kbs/v0/resource/a/b/c", auth: "Bearer tok", inm: '"t1"' },
  ]);
});

test("a response over maxResponseBytes is ERR_KBS_CLIENT_RESPONSE", async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(Buffer.alloc(4096, 0x41));
    },
    { maxResponseBytes: 1024 },
    async (http) => {
      await assert.rejects(http.get("/x", "tok"), {
        code: "ERR_KBS_CLIENT_RESPONSE",
        message: /exceeds 1024 bytes/,
      });
    },
  );
});

test("a server that never answers is ERR_KBS_CLIENT_UNREACHABLE after timeoutMs", async () => {
  await withServer(
    () => {
      // never answers
    },
    { timeoutMs: 200 },
    async (http) => {
      await assert.rejects(http.get("/x", "tok"), {
        code: "ERR_KBS_CLIENT_UNREACHABLE",
        message: /did not answer GET \/x within 200 ms/,
      });
    },
  );
});

test("a body that stalls is ERR_KBS_CLIENT_UNREACHABLE after timeoutMs", async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write("{");
    },
    { timeoutMs: 200 },
    async (http) => {
      await assert.rejects(http.get("/x", "tok"), { code: "ERR_KBS_CLIENT_UNREACHABLE" });
    },
  );
});
