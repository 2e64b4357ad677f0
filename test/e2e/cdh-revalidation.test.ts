/**
 * Conditional revalidation of resource GETs between the CDH's token client and Trustee: the
 * second GET of a resource with the same token is answered 304 (no JWE) after the full
 * authorization, and every revocation (policy, deletion, change, another token) takes effect on
 * the very next call. Wire compatibility both ways: a GET without If-None-Match gets the usual
 * 200 JWE, and the client against a server that ignores the header (or sends no ETag, as
 * upstream Trustee) works unchanged. Hostile answers (304 without a cached copy, 304 with
 * another tag, unusable ETags) are errors or ignored, never a crash.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decryptWithTeeKey, encryptForTeeKeySync } from "../../src/crypto/jwe.js";
import { createTokenKbsClient, type TokenKbsClient } from "../../src/guest/aa/kbs-client/index.js";
import { FAST_CLIENT_AFTER } from "../../src/guest/aa/kbs-client/token-client.js";
import { parseResourceUri } from "../../src/protocol/resource-uri/index.js";
import { createRegoPolicyEngine } from "../../src/trustee/as/policy/rego-engine.js";
import { parseTrusteeConfig } from "../../src/trustee/config.js";
import {
  generateAdminKeyPair,
  mintAdminToken,
  parsePrivateKeyPem,
} from "../../src/trustee/kbs/admin-token.js";
import { type RunningTrustee, startTrustee } from "../../src/trustee/trustee.js";
import { makeTestTls } from "../helpers/tls.js";
import { call, type Handshake, handshake } from "./trustee-client.js";

const ALLOW_OPEN = `package policy
import rego.v1
default allow := false
allow if {
  data.plugin == "resource"
  data["resource-path"][0] == "open"
}
`;
const DENY_ALL = "package policy\nimport rego.v1\ndefault allow := false\n";
const URI = parseResourceUri("kbs:///open/key/a");
const PATH = "/kbs/v0/resource/open/key/a";
const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

function clientFor(url: string, h: Handshake, cache = true, certs?: string[]): TokenKbsClient {
  const teeKeyPem = h.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  return createTokenKbsClient({
    url,
    cache,
    ...(certs ? { certs } : {}),
    tokenProvider: async () => ({ token: h.token as string, teeKeyPem }),
  });
}

describe("resource revalidation against Trustee", () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-revalidate-"));
  const keys = generateAdminKeyPair();
  let t: RunningTrustee;
  let base: string;
  let admin: Record<string, string>;
  let guest: Handshake;
  let other: Handshake;

  const put = async (value: string) => {
    const r = await call(`${base}${PATH}`, "POST", new TextEncoder().encode(value), admin);
    assert.equal(r.status, 200, r.text);
  };
  const policy = async (rego: string) => {
    const r = await call(
      `${base}/kbs/v0/resource-policy`,
      "POST",
      { policy: Buffer.from(rego).toString("base64url") },
      admin,
    );
    assert.equal(r.status, 200, r.text);
  };
  const raw = async (h: Handshake, ifNoneMatch?: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${h.token}` };
    if (ifNoneMatch !== undefined) headers["if-none-match"] = ifNoneMatch;
    const res = await fetch(`${base}${PATH}`, { headers });
    return { status: res.status, etag: res.headers.get("etag"), body: await res.text() };
  };

  before(async () => {
    writeFileSync(join(dir, "admin.pub"), keys.publicKeyPem);
    t = await startTrustee({
      config: parseTrusteeConfig(`
[http_server]
sockets = ["127.0.0.1:0"]
insecure_http = true
[admin]
authorization_mode = "AuthenticatedAuthorization"
[admin.authentication.bearer_jwt]
identity_providers = [{ issuer = "ops", public_key_uri = "${join(dir, "admin.pub")}" }]
[admin.authorization.regex_acl]
acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]
[[plugins]]
name = "resource"
`),
      policyEngine: createRegoPolicyEngine(),
    });
    base = t.urls[0] as string;
    const token = await mintAdminToken(parsePrivateKeyPem(keys.privateKeyPem), {
      issuer: "ops",
      subject: "alice",
    });
    admin = { authorization: `Bearer ${token}` };
    await policy(ALLOW_OPEN);
    await put("first");
    guest = await handshake(base);
    other = await handshake(base);
    assert.equal(guest.attest.status, 200);
    assert.equal(other.attest.status, 200);
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a GET without If-None-Match gets the usual 200 JWE, now with an ETag", async () => {
    const r = await raw(guest);
    assert.equal(r.status, 200);
    assert.match(r.etag ?? "", /^"[A-Za-z0-9_-]{43}"$/);
    assert.equal(text(await decryptWithTeeKey(guest.privateKey, JSON.parse(r.body))), "first");
    const o = await raw(other);
    assert.notEqual(o.etag, r.etag, "two guests' tags for one resource differ");
  });

  test("Trustee answers 304 only to the tag it issued to this guest for these bytes", async () => {
    const tag = (await raw(guest)).etag as string;
    const hit = await raw(guest, tag);
    assert.equal(hit.status, 304);
    assert.equal(hit.body, "");
    assert.equal(hit.etag, tag);
    assert.equal((await raw(guest, `W/${tag}`)).status, 304);
    assert.equal((await raw(guest, `"nope", ${tag}`)).status, 304);
    const otherTag = (await raw(other)).etag as string;
    for (const bad of [
      otherTag,
      "*",
      "garbage",
      `"${"A".repeat(43)}"`,
      tag.slice(1),
      `${tag} `.repeat(40),
      "\u00ff".repeat(600),
    ]) {
      const r = await raw(guest, bad);
      assert.equal(r.status, 200, `If-None-Match ${JSON.stringify(bad.slice(0, 40))}`);
      assert.equal(text(await decryptWithTeeKey(guest.privateKey, JSON.parse(r.body))), "first");
    }
    // Without a token there is no 304, whatever the tag: authorization comes first.
    const res = await fetch(`${base}${PATH}`, { headers: { "if-none-match": tag } });
    assert.equal(res.status, 401);
    await res.arrayBuffer();
  });

  test("the client revalidates, and every revocation takes effect on the next call", async () => {
    const c = clientFor(base, guest);
    try {
      assert.equal(text(await c.getResource(URI)), "first");
      assert.equal(text(await c.getResource(URI)), "first");
      assert.equal(c.revalidated, 1, "the second GET was a 304");
      const copy = await c.getResource(URI);
      copy.fill(0);
      assert.equal(text(await c.getResource(URI)), "first", "callers get a private copy");
      assert.equal(c.revalidated, 3);

      // Changed: the old tag no longer matches, the new bytes arrive at once.
      await put("second");
      assert.equal(text(await c.getResource(URI)), "second");
      assert.equal(c.revalidated, 3);
      assert.equal(text(await c.getResource(URI)), "second");
      assert.equal(c.revalidated, 4);

      // Policy revoked: refused on the next call, and the kept copy is gone.
      await policy(DENY_ALL);
      await assert.rejects(c.getResource(URI), { code: "ERR_KBS_CLIENT_UNAUTHORIZED" });
      await policy(ALLOW_OPEN);
      assert.equal(text(await c.getResource(URI)), "second");
      assert.equal(c.revalidated, 4, "a full 200 after a refusal");

      // Deleted: refused; put back with the same bytes: a full 200 again.
      const del = await call(`${base}${PATH}`, "DELETE", undefined, admin);
      assert.equal(del.status, 200, del.text);
      await assert.rejects(c.getResource(URI), {
        code: "ERR_KBS_CLIENT_UNAUTHORIZED",
        message: /resource not found/,
      });
      await put("second");
      assert.equal(text(await c.getResource(URI)), "second");
      assert.equal(c.revalidated, 4);
      assert.equal(text(await c.getResource(URI)), "second");
      assert.equal(c.revalidated, 5);
    } finally {
      c.close();
    }
  });

  test("without the token cache (upstream's behaviour) nothing is kept", async () => {
    const c = clientFor(base, guest, false);
    try {
      for (let i = 0; i < 3; i++) assert.equal(text(await c.getResource(URI)), "second");
      assert.equal(c.revalidated, 0);
    } finally {
      c.close();
    }
  });
});

/** A stand-in resource server (not Trustee): `answer` decides each reply; requests recorded. */
async function fakeKbs(
  answer: (n: number, headers: IncomingHttpHeaders) => { status: number; etag?: string },
  guest: Handshake,
  tls?: { keyPem: string; certPem: string },
): Promise<{ url: string; seen: IncomingHttpHeaders[]; server: Server }> {
  const seen: IncomingHttpHeaders[] = [];
  const handler = (
    req: import("node:http").IncomingMessage,
    res: import("node:http").ServerResponse,
  ) => {
    req.resume();
    seen.push(req.headers);
    const a = answer(seen.length, req.headers);
    const headers: Record<string, string> = a.etag !== undefined ? { etag: a.etag } : {};
    if (a.status !== 200) {
      res.writeHead(a.status, headers);
      res.end();
      return;
    }
    const body = JSON.stringify(
      encryptForTeeKeySync(guest.publicJwk, new TextEncoder().encode(`v${seen.length}`)),
    );
    res.writeHead(200, { ...headers, "content-type": "application/json" });
    res.end(body);
  };
  const server: Server = tls
    ? createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, handler)
    : createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return { url: `${tls ? "https" : "http"}://127.0.0.1:${port}`, seen, server };
}

describe("resource revalidation against other servers", () => {
  // A guest identity for the stand-in servers: only the TEE key pair and a token-shaped string.
  let guest: Handshake;
  const servers: Server[] = [];
  before(async () => {
    const { generateTeeKeyPair } = await import("../../src/crypto/jwe.js");
    const k = generateTeeKeyPair("ec-p256");
    const claims = Buffer.from(JSON.stringify({ exp: 4102444800 })).toString("base64url");
    guest = {
      cookie: "",
      nonce: "",
      publicJwk: k.publicJwk,
      privateKey: k.privateKey,
      attest: { status: 200, body: undefined, text: "", setCookie: null },
      token: `e30.${claims}.c2ln`,
      hash: "sha384",
    };
  });
  after(() => {
    for (const s of servers) s.close();
  });
  const start = async (
    answer: Parameters<typeof fakeKbs>[0],
    tls?: { keyPem: string; certPem: string },
  ) => {
    const f = await fakeKbs(answer, guest, tls);
    servers.push(f.server);
    return f;
  };

  test("a server that ignores If-None-Match (200 every time) works unchanged", async () => {
    const f = await start(() => ({ status: 200, etag: '"same"' }));
    const c = clientFor(f.url, guest);
    try {
      for (let i = 1; i <= 3; i++) assert.equal(text(await c.getResource(URI)), `v${i}`);
      assert.equal(c.revalidated, 0);
      assert.equal(f.seen[0]?.["if-none-match"], undefined);
      assert.equal(f.seen[1]?.["if-none-match"], '"same"');
    } finally {
      c.close();
    }
  });

  test("a client that fetches often moves to undici and keeps revalidating", async () => {
    // One 200 with a tag, then 304s: every later GET is a revalidation.
    const f = await start((n) => (n === 1 ? { status: 200, etag: '"t"' } : { status: 304 }));
    const c = clientFor(f.url, guest);
    try {
      let calls = 0;
      // From the FAST_CLIENT_AFTER-th GET undici loads in the background (once per process:
      // a client made after that starts on it). Bounded: a client that never moves fails the
      // assertion below instead of looping.
      while ((calls < FAST_CLIENT_AFTER || c.transport !== "undici") && calls < 2000) {
        assert.equal(text(await c.getResource(URI)), "v1");
        calls++;
      }
      assert.equal(c.transport, "undici");
      for (let i = 0; i < 3; i++) assert.equal(text(await c.getResource(URI)), "v1");
      calls += 3;
      assert.equal(c.revalidated, calls - 1);
      assert.equal(f.seen.length, calls);
      assert.ok(f.seen.slice(1).every((h) => h["if-none-match"] === '"t"'));
    } finally {
      c.close();
    }
  });

  test("a server without ETags (upstream Trustee) never sees If-None-Match", async () => {
    const f = await start(() => ({ status: 200 }));
    const c = clientFor(f.url, guest);
    try {
      for (let i = 1; i <= 3; i++) assert.equal(text(await c.getResource(URI)), `v${i}`);
      assert.ok(f.seen.every((h) => h["if-none-match"] === undefined));
    } finally {
      c.close();
    }
  });

  test("unusable ETags are not kept nor sent back", async () => {
    const tags = ["unquoted", `"${"x".repeat(300)}"`, '"a b"'];
    const f = await start((n) => ({ status: 200, etag: tags[(n - 1) % tags.length] as string }));
    const c = clientFor(f.url, guest);
    try {
      for (let i = 1; i <= 4; i++) assert.equal(text(await c.getResource(URI)), `v${i}`);
      assert.ok(f.seen.every((h) => h["if-none-match"] === undefined));
    } finally {
      c.close();
    }
  });

  test("a 304 to a GET that sent no tag is an error, and the client stays usable", async () => {
    const f = await start((n) => (n === 1 ? { status: 304 } : { status: 200, etag: '"t"' }));
    const c = clientFor(f.url, guest);
    try {
      await assert.rejects(c.getResource(URI), {
        code: "ERR_KBS_CLIENT_RESPONSE",
        message: /304 Not Modified to a request that sent no If-None-Match/,
      });
      assert.equal(text(await c.getResource(URI)), "v2");
    } finally {
      c.close();
    }
  });

  test("a 304 naming another tag is an error and drops the kept copy", async () => {
    const f = await start((n) =>
      n === 2 ? { status: 304, etag: '"changed"' } : { status: 200, etag: '"t1"' },
    );
    const c = clientFor(f.url, guest);
    try {
      assert.equal(text(await c.getResource(URI)), "v1");
      await assert.rejects(c.getResource(URI), { code: "ERR_KBS_CLIENT_RESPONSE" });
      assert.equal(text(await c.getResource(URI)), "v3");
      assert.equal(f.seen[2]?.["if-none-match"], undefined, "nothing kept after the bad 304");
    } finally {
      c.close();
    }
  });

  test("any status but 200 or 304 drops the kept copy", async () => {
    const f = await start((n) => (n === 2 ? { status: 500 } : { status: 200, etag: '"t"' }));
    const c = clientFor(f.url, guest);
    try {
      assert.equal(text(await c.getResource(URI)), "v1");
      await assert.rejects(c.getResource(URI), { code: "ERR_KBS_CLIENT_HTTP" });
      assert.equal(text(await c.getResource(URI)), "v3");
      assert.equal(f.seen[1]?.["if-none-match"], '"t"');
      assert.equal(f.seen[2]?.["if-none-match"], undefined);
    } finally {
      c.close();
    }
  });

  test("over https the client trusts the root it is given, and only that", async () => {
    const tls = await makeTestTls();
    const f = await start(() => ({ status: 200, etag: '"t"' }), tls);
    const c = clientFor(f.url, guest, true, [tls.caPem]);
    try {
      assert.equal(text(await c.getResource(URI)), "v1");
    } finally {
      c.close();
    }
    const untrusting = clientFor(f.url, guest);
    try {
      await assert.rejects(untrusting.getResource(URI), { code: "ERR_KBS_CLIENT_UNREACHABLE" });
    } finally {
      untrusting.close();
    }
    assert.equal(f.seen.length, 1, "nothing was sent to an untrusted server");
  });

  test("a token with a line break is refused before anything is sent", async () => {
    const f = await start(() => ({ status: 200 }));
    const bad = { ...guest, token: `${guest.token}\r\nx-injected: 1` };
    const c = clientFor(f.url, bad);
    try {
      await assert.rejects(c.getResource(URI), { code: "ERR_KBS_CLIENT_TOKEN" });
      assert.equal(f.seen.length, 0);
    } finally {
      c.close();
    }
  });

  test("an unreachable server is ERR_KBS_CLIENT_UNREACHABLE", async () => {
    const f = await start(() => ({ status: 200 }));
    const url = f.url;
    await new Promise<void>((r) => f.server.close(() => r()));
    const c = clientFor(url, guest);
    try {
      await assert.rejects(c.getResource(URI), { code: "ERR_KBS_CLIENT_UNREACHABLE" });
    } finally {
      c.close();
    }
  });
});
