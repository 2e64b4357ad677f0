/**
 * The smaller items of issue #15 on Trustee's side: leftovers of a crash, a world-readable
 * storage root, admin tokens without a lifetime bound or issued in the future, resource
 * paths in /metrics, and a client that disconnects mid-body.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { handshake } from "../../../test/e2e/trustee-client.js";
import { rawRequest } from "../../../test/helpers/raw-http.js";
import { RESOURCE_POLICY_ALLOW_ALL } from "../as/policy/default-policies.js";
import { createRegoPolicyEngine } from "../as/policy/rego-engine.js";
import { parseTrusteeConfig } from "../config.js";
import { type RunningTrustee, startTrustee } from "../trustee.js";
import { generateAdminKeyPair, mintAdminToken, parsePrivateKeyPem } from "./admin-token.js";

/** A pid above Linux's largest pid_max (2^22): never a live process. */
const DEAD_PID = 4_194_305;

describe("Trustee's smaller hardening items", () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-hostile-misc-"));
  const store = join(dir, "store");
  const keys = generateAdminKeyPair();
  const key = parsePrivateKeyPem(keys.privateKeyPem);
  const logs: string[] = [];
  let t: RunningTrustee;
  let base: string;

  before(async () => {
    writeFileSync(join(dir, "admin.pub"), keys.publicKeyPem);
    // What a crash leaves: an existing, world-readable root and half-written uploads.
    mkdirSync(join(store, "repository"), { recursive: true });
    chmodSync(store, 0o755);
    writeFileSync(join(store, "repository", ".tmp-0123456789abcdef"), "partial secr");
    writeFileSync(join(store, "repository", `.tmp-${DEAD_PID}-00aa`), "partial secr");
    t = await startTrustee({
      config: parseTrusteeConfig(`
[http_server]
sockets = ["127.0.0.1:0"]
insecure_http = true
[admin]
authorization_mode = "AuthenticatedAuthorization"
[admin.authentication.bearer_jwt]
identity_providers = [{ issuer = "misc", public_key_uri = "${join(dir, "admin.pub")}" }]
[admin.authorization.regex_acl]
acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]
[storage_backend]
storage_type = "LocalFs"
[storage_backend.backends.local_fs]
dir_path = "${store}"
[[plugins]]
name = "resource"
`),
      policyEngine: createRegoPolicyEngine(),
      log: (l) => logs.push(l),
    });
    base = t.urls[0] as string;
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("temporary upload files left by a crash are removed at start", () => {
    assert.deepEqual(
      readdirSync(join(store, "repository")).filter((n) => n.startsWith(".tmp-")),
      [],
    );
  });

  test("an existing storage root readable by others is made private, with a warning", () => {
    assert.equal(statSync(store).mode & 0o777, 0o700);
    assert.ok(
      logs.some((l) => /WARNING.*storage.*0755.*0700/.test(l)),
      logs.join("\n"),
    );
  });

  test("admin tokens: a lifetime over the maximum and an iat in the future are refused", async () => {
    const body = JSON.stringify({
      policy: Buffer.from(RESOURCE_POLICY_ALLOW_ALL).toString("base64url"),
    });
    const post = async (token: string) =>
      rawRequest(base, "POST", "/kbs/v0/resource-policy", body, {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
      });
    const ok = await post(await mintAdminToken(key, { issuer: "misc" }));
    assert.equal(ok.status, 200, ok.text);
    const tenYears = await post(
      await mintAdminToken(key, { issuer: "misc", ttlSeconds: 10 * 365 * 86400 }),
    );
    assert.equal(tenYears.status, 401, tenYears.text);
    assert.match((tenYears.body as { detail: string }).detail, /lifetime/);
    const future = await post(
      await mintAdminToken(key, { issuer: "misc", now: new Date(Date.now() + 3600_000) }),
    );
    assert.equal(future.status, 401, future.text);
    assert.match((future.body as { detail: string }).detail, /issued in the future/);
  });

  test("/metrics does not list resource paths", async () => {
    const admin = `Bearer ${await mintAdminToken(key, { issuer: "misc" })}`;
    const put = await rawRequest(base, "POST", "/kbs/v0/resource/tenant-x/keys/prod-db", "s", {
      authorization: admin,
    });
    assert.equal(put.status, 200, put.text);
    const h = await handshake(base);
    assert.equal(h.attest.status, 200, h.attest.text);
    await rawRequest(base, "GET", "/kbs/v0/resource/tenant-x/keys/prod-db", undefined, {
      cookie: h.cookie,
    });
    const m = await rawRequest(base, "GET", "/metrics");
    assert.equal(m.status, 200);
    assert.match(m.text, /kbs_resource_writes_total/);
    assert.doesNotMatch(m.text, /tenant-x|prod-db/);
  });

  test("a client that disconnects mid-body is not logged as an internal error", async () => {
    const u = new URL(base);
    const req = request({
      host: u.hostname,
      port: Number(u.port),
      method: "POST",
      path: "/kbs/v0/auth",
      headers: { "content-type": "application/json", "content-length": "60000" },
      agent: false,
    });
    req.on("error", () => {});
    req.write('{"version":"0.4.0","tee":');
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    // Wait (bounded) until the server has seen the disconnect, whichever way it logs it.
    for (
      let i = 0;
      i < 200 && !logs.some((l) => /aborted|disconnect|closed the connection/i.test(l));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const line = logs.find((l) => /aborted|disconnect|closed the connection/i.test(l));
    assert.ok(line !== undefined, `no log line about the disconnect:\n${logs.join("\n")}`);
    assert.doesNotMatch(line, /internal error/);
    assert.doesNotMatch(line, /\n\s+at /);
  });
});
