/**
 * A hostile registry on loopback: each request gets a random misbehaviour (garbage or
 * oversized manifests, lying Content-Length, cut connections, redirect loops, odd auth
 * challenges and token answers, wrong digests). Property: every client call resolves or rejects
 * with an `OciError` carrying a code, within the hang bound.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { describeStats, fuzz, mutate, Rng } from "../../../test/helpers/fuzz.js";
import { OciError } from "../errors.js";
import { createRegistryClient } from "./client.js";

const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: `sha256:${"a".repeat(64)}`,
      size: 2,
    },
    layers: [],
  }),
);

const CHALLENGES = [
  'Bearer realm="http://HOST/token",service="r",scope="x"',
  'Bearer realm="not a url"',
  "Bearer realm=",
  'Bearer realm="ftp://HOST/token"',
  'Bearer realm="http://HOST/redirect"',
  "Basic realm=x",
  "Bearer",
  'Bearer realm="http://HOST/token",,,,=====',
  "",
];
const TOKENS = [
  '{"token":"t"}',
  '{"access_token":""}',
  "null",
  "[]",
  "{",
  '{"token":{}}',
  "x".repeat(2000),
];

type Mode = { kind: number; seed: number };

describe("registry client against a hostile registry", () => {
  let server: Server;
  let host = "";
  let mode: Mode = { kind: 0, seed: 0 };
  let fixedChallenge: string | undefined;
  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      const rng = new Rng(mode.seed);
      const url = req.url ?? "";
      if (url === "/v2/") return void res.end();
      if (url.startsWith("/token")) {
        res.statusCode = rng.pick([200, 200, 401, 500]);
        return void res.end(rng.pick(TOKENS));
      }
      if (url.startsWith("/redirect")) {
        res.statusCode = 302;
        res.setHeader(
          "location",
          rng.pick(["/redirect", `http://${host}/redirect`, "::bad::", "/v2/r/manifests/t"]),
        );
        return void res.end();
      }
      switch (mode.kind) {
        case 0: // 401 with an odd challenge
          res.statusCode = 401;
          res.setHeader(
            "www-authenticate",
            (fixedChallenge ?? rng.pick(CHALLENGES)).replaceAll("HOST", host),
          );
          return void res.end();
        case 1: // mutated manifest, random content type
          res.setHeader(
            "content-type",
            rng.pick([
              "application/vnd.oci.image.manifest.v1+json",
              "text/html",
              "",
              "application/json; x",
            ]),
          );
          return void res.end(Buffer.from(mutate(rng, MANIFEST)));
        case 2: // lying content-length then close
          res.setHeader("content-length", String(MANIFEST.length + 100));
          res.write(MANIFEST.subarray(0, 10));
          return void res.socket?.destroy();
        case 3: // oversized chunked body
          res.setHeader("content-type", "application/vnd.oci.image.manifest.v1+json");
          res.write(Buffer.alloc(5 * 1024 * 1024, 0x20));
          return void res.end();
        case 4: // redirect loop
          res.statusCode = 307;
          res.setHeader("location", url);
          return void res.end();
        case 5: // random status
          res.statusCode = rng.pick([200, 204, 301, 400, 403, 404, 429, 500, 503]);
          return void res.end(rng.pick(["", "{}", '{"errors":[{"code":"X"}]}', "<html>"]));
        case 6: // huge declared length
          res.setHeader("content-length", String(2 ** 40));
          return void res.end();
        default: // connection cut before headers
          return void req.socket.destroy();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  // Found by fuzzing: a bearer realm that is not a URL threw `new URL()`'s uncoded TypeError.
  for (const challenge of ['Bearer realm="not a url"', 'Bearer realm="ftp://HOST/token"']) {
    test(`a challenge ${challenge} is ERR_OCI_AUTH`, async () => {
      mode = { kind: 0, seed: 1 };
      fixedChallenge = challenge;
      const c = createRegistryClient({ host, insecure: true });
      try {
        await assert.rejects(
          c.getManifest("r", "t"),
          (e: unknown) => e instanceof OciError && e.code === "ERR_OCI_AUTH",
        );
      } finally {
        c.close();
        fixedChallenge = undefined;
      }
    });
  }

  test("every call resolves or rejects with a coded OciError", async (t) => {
    const stats = await fuzz({
      name: "registry-client",
      seed: 0x4e6,
      iterations: 400,
      errorClass: OciError,
      gen: (rng) => ({ kind: rng.int(8), seed: rng.u32(), op: rng.int(3) }),
      target: async ({ kind, seed, op }) => {
        mode = { kind, seed };
        const c = createRegistryClient({ host, insecure: true, tls: { idleTimeoutMs: 500 } });
        try {
          if (op === 0) await c.getManifest("r", "t");
          else if (op === 1) await c.headManifest("r", "t");
          else await c.getBlobBytes("r", `sha256:${"b".repeat(64)}`, 1024 * 1024);
        } finally {
          c.close();
        }
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
