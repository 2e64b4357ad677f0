/**
 * Attestation events over a live Trustee: each decision (attestation allowed or refused for
 * each binding, resource released or refused, admin refusals and changes) is one event with
 * who, TEE, verdict, EAR trust vectors and the failed rule, and no event or stored batch holds
 * a secret, a token, a nonce or evidence.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import canonicalize from "canonicalize";
import { call, getResource, type Handshake, handshake } from "../../../test/e2e/trustee-client.js";
import { createRegoPolicyEngine } from "../as/policy/rego-engine.js";
import { parseTrusteeConfig } from "../config.js";
import type { TrusteeEvent } from "../events/index.js";
import { EVENT_NAMESPACE } from "../events/index.js";
import { type RunningTrustee, startTrustee } from "../trustee.js";
import { generateAdminKeyPair, mintAdminToken, parsePrivateKeyPem } from "./admin-token.js";

const POLICY = `package policy
import rego.v1
default allow := false
allow if {
  data.plugin == "resource"
  data["resource-path"][0] == "open"
}
`;

describe("attestation events", () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-events-"));
  const keys = generateAdminKeyPair();
  const key = parsePrivateKeyPem(keys.privateKeyPem);
  let t: RunningTrustee;
  let base: string;
  let adminToken: string;
  const secrets: string[] = [];
  const handshakes: Handshake[] = [];

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
acls = [
  { role = "admin", allowed_endpoints = "^/kbs/.+$" },
  { role = "auditor", allowed_endpoints = "^/kbs/v0/events$" },
]
[[plugins]]
name = "resource"
`),
      policyEngine: createRegoPolicyEngine(),
    });
    base = t.urls[0] as string;
    adminToken = await mintAdminToken(key, { issuer: "ops", subject: "alice" });
    secrets.push(adminToken);
  });

  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const admin = () => ({ authorization: `Bearer ${adminToken}` });

  async function events(query = ""): Promise<TrusteeEvent[]> {
    await t.events?.flush();
    const r = await call(`${base}/kbs/v0/events${query}`, "GET", undefined, admin());
    assert.equal(r.status, 200, r.text);
    return r.text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as TrusteeEvent);
  }

  test("every decision is one event, with what failed", async () => {
    // Admin changes: a secret and a resource policy (allowed, recorded with the admin's name).
    const secret = `s3cret-${Math.random().toString(36).slice(2)}`;
    secrets.push(secret);
    for (const path of ["open/key/a", "closed/key/b"]) {
      const put = await call(
        `${base}/kbs/v0/resource/${path}`,
        "POST",
        new TextEncoder().encode(secret),
        admin(),
      );
      assert.equal(put.status, 200, put.text);
    }
    const pol = await call(
      `${base}/kbs/v0/resource-policy`,
      "POST",
      { policy: Buffer.from(POLICY).toString("base64url") },
      admin(),
    );
    assert.equal(pol.status, 200, pol.text);

    // An attestation and a release, then a refusal by the policy.
    const ok = await handshake(base);
    handshakes.push(ok);
    assert.equal(ok.attest.status, 200);
    assert.equal((await getResource(base, "open/key/a", ok)).answer.status, 200);
    assert.equal((await getResource(base, "closed/key/b", ok)).answer.status, 401);
    // Refused attestations, one per binding.
    const nonce = await handshake(base, {
      tamper: (a) => {
        (a["runtime-data"] as Record<string, unknown>).nonce = "bm90LXRoZS1ub25jZQ==";
      },
    });
    const rd = await handshake(base, {
      evidence: () => ({ svn: "1", report_data: Buffer.alloc(48, 7).toString("base64") }),
    });
    const init = await handshake(base, {
      initData: 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = "package x"\n',
      evidence: (reportData) => ({
        svn: "1",
        report_data: reportData.toString("base64"),
        init_data: Buffer.alloc(32, 1).toString("base64"),
      }),
    });
    handshakes.push(nonce, rd, init);
    for (const h of [nonce, rd, init]) assert.equal(h.attest.status, 401);
    // A refused /auth and a resource request without any token.
    const auth = await call(`${base}/kbs/v0/auth`, "POST", {
      version: "0.3.0",
      tee: "sample",
      "extra-params": "",
    });
    assert.equal(auth.status, 401);
    assert.equal((await call(`${base}/kbs/v0/resource/open/key/a`, "GET")).status, 401);
    // Admin refusals: no token, and a role that may not write.
    assert.equal((await call(`${base}/kbs/v0/resource/open/key/a`, "DELETE")).status, 401);
    const auditor = await mintAdminToken(key, { issuer: "ops", subject: "bob", role: "auditor" });
    secrets.push(auditor);
    assert.equal(
      (
        await call(`${base}/kbs/v0/resource-policy`, "GET", undefined, {
          authorization: `Bearer ${auditor}`,
        })
      ).status,
      401,
    );
    // The auditor may read the events (an admin read is not itself an event).
    const viaAuditor = await call(`${base}/kbs/v0/events`, "GET", undefined, {
      authorization: `Bearer ${auditor}`,
    });
    assert.equal(viaAuditor.status, 200, viaAuditor.text);

    const all = await events("?limit=1000");
    const summary = all.map(
      (e) => `${e.kind} ${e.verdict} ${e.action}${e.failure ? ` ${e.failure.code}` : ""}`,
    );
    assert.deepEqual(summary, [
      "admin allow POST /kbs/v0/resource",
      "admin allow POST /kbs/v0/resource",
      "admin allow POST /kbs/v0/resource-policy",
      "attestation allow attest",
      "resource allow resource",
      "resource deny resource ERR_KBS_POLICY_DENY",
      "attestation deny attest ERR_KBS_ATTESTATION",
      "attestation deny attest ERR_VERIFIER_REPORT_DATA",
      "attestation deny attest ERR_VERIFIER_INIT_DATA",
      "attestation deny auth ERR_KBS_VERSION",
      "resource deny resource ERR_KBS_TOKEN_NOT_FOUND",
      "admin deny DELETE /kbs/v0/resource ERR_KBS_ADMIN_PLUGIN",
      "admin deny GET /kbs/v0/resource-policy ERR_KBS_ADMIN_ACCESS",
    ]);
    const [w1, , wPol, att, rel, deny, nonceEv, rdEv, initEv, authEv, , adminDeny, roleDeny] = all;
    // Who: the admin by name, never by token.
    assert.deepEqual(w1?.who.admin, { role: "admin", sub: "alice", iss: "ops" });
    assert.equal(w1?.resource, "open/key/a");
    assert.equal(wPol?.who.admin?.sub, "alice");
    // The attestation: TEE, EAR verdict and trust vector, the guest's key and session.
    assert.equal(att?.tee, "sample");
    assert.equal(att?.who.client, "127.0.0.1");
    assert.match(att?.who.tee_key ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.match(att?.who.session ?? "", /^[0-9a-f]{32}$/);
    assert.ok(att?.ear?.cpu0, "the cpu0 submod");
    assert.equal(typeof att?.ear?.cpu0?.status, "string");
    assert.equal(att?.ear?.cpu0?.policy, "default");
    assert.ok(Object.keys(att?.ear?.cpu0?.trust_vector ?? {}).length > 0);
    // The release and the refusal name the resource and carry the same guest.
    assert.equal(rel?.resource, "open/key/a");
    assert.equal(rel?.who.tee_key, att?.who.tee_key);
    assert.equal(rel?.who.session, att?.who.session);
    assert.equal(deny?.resource, "closed/key/b");
    assert.equal(deny?.failure?.type, "PolicyDeny");
    assert.match(deny?.failure?.detail ?? "", /resource policy rule/);
    assert.ok(deny?.ear?.cpu0, "a refusal by policy shows the token's verdicts");
    // Each refused attestation says which binding failed.
    assert.match(nonceEv?.failure?.detail ?? "", /nonce mismatch/);
    assert.match(rdEv?.failure?.detail ?? "", /report-data binding failed/);
    assert.match(initEv?.failure?.detail ?? "", /init-data binding failed/);
    for (const e of [nonceEv, rdEv, initEv]) {
      assert.equal(e?.tee, "sample");
      assert.equal(e?.ear, undefined);
    }
    assert.match(authEv?.failure?.detail ?? "", /Version Mismatch/i);
    assert.match(adminDeny?.failure?.detail ?? "", /no Bearer token/);
    assert.match(roleDeny?.failure?.detail ?? "", /role "auditor" may not call/);
    for (const e of all) {
      assert.match(e.id, /^\d{13}-[A-Za-z0-9_]+-\d+$/);
      assert.ok(!Number.isNaN(Date.parse(e.time)));
      assert.ok(e.duration_ms >= 0);
    }

    // Filters.
    assert.deepEqual(
      (await events("?verdict=deny&kind=attestation")).map((e) => e.failure?.code),
      [
        "ERR_KBS_ATTESTATION",
        "ERR_VERIFIER_REPORT_DATA",
        "ERR_VERIFIER_INIT_DATA",
        "ERR_KBS_VERSION",
      ],
    );
    assert.deepEqual(
      (await events("?resource=closed/key/b&kind=resource")).map((e) => e.verdict),
      ["deny"],
    );
    assert.equal((await events("?limit=2")).length, 2);
  });

  test("no event, and no stored batch, holds a secret, a token, a nonce or evidence", async () => {
    await t.events?.flush();
    const texts = [JSON.stringify(await events("?limit=10000"))];
    for (const k of await t.store.list(EVENT_NAMESPACE)) {
      texts.push(Buffer.from((await t.store.get(EVENT_NAMESPACE, k)) ?? []).toString("utf8"));
    }
    const forbidden = [...secrets];
    for (const h of handshakes) {
      forbidden.push(h.nonce, h.cookie.split("=")[1] as string);
      if (h.token !== undefined) {
        forbidden.push(h.token, ...h.token.split("."));
      }
      const d = h.privateKey.export({ format: "jwk" }).d as string;
      forbidden.push(d);
      // The report data the honest evidence carried.
      const rd = canonicalize({
        "tee-pubkey": h.publicJwk,
        nonce: h.nonce,
        "additional-evidence": "",
      });
      forbidden.push(
        createHash(h.hash)
          .update(rd as string)
          .digest("base64"),
      );
    }
    // The evidence values of the refused attestations.
    forbidden.push(Buffer.alloc(48, 7).toString("base64"), Buffer.alloc(32, 1).toString("base64"));
    assert.ok(forbidden.length > 10);
    for (const text of texts) {
      for (const f of forbidden) {
        assert.ok(
          f.length >= 16 && !text.includes(f),
          `an event holds a secret (${f.slice(0, 8)}…)`,
        );
      }
      assert.ok(!text.includes("policy.rego"), "no init-data body");
      assert.ok(!text.includes("runtime_data_claims"), "no annotated evidence");
    }
  });

  test("the event API is an admin row: refused without a token, strict about its query", async () => {
    const anon = await call(`${base}/kbs/v0/events`, "GET");
    assert.equal(anon.status, 401);
    assert.match(anon.text, /AdminAuthAccess/);
    for (const q of [
      "?verdict=maybe",
      "?unknown=1",
      "?limit=0",
      "?kind=attestation&kind=resource",
    ]) {
      const r = await call(`${base}/kbs/v0/events${q}`, "GET", undefined, admin());
      assert.equal(r.status, 404, q);
      assert.match(r.text, /InvalidRequestPath/);
    }
    // Other admin endpoints still take no query at all.
    const rp = await call(`${base}/kbs/v0/resource-policy?limit=1`, "GET", undefined, admin());
    assert.equal(rp.status, 404);
    assert.match(rp.text, /take no query string/);
  });

  test("follow=true streams new events as JSON lines", async () => {
    const url = new URL(`${base}/kbs/v0/events?follow=true&kind=attestation&limit=1`);
    const lines: string[] = [];
    let headers: Record<string, unknown> = {};
    const req = request(url, { headers: admin() });
    const got = new Promise<void>((resolve, reject) => {
      req.on("response", (res) => {
        headers = res.headers;
        let buf = "";
        res.on("data", (c: Buffer) => {
          buf += c.toString("utf8");
          const parts = buf.split("\n");
          buf = parts.pop() ?? "";
          lines.push(...parts);
          if (lines.length >= 2) resolve();
        });
        res.on("error", reject);
      });
      req.on("error", reject);
    });
    req.end();
    // The backlog line arrives first; then a new attestation appears on the open stream.
    for (let i = 0; i < 100 && lines.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    const h = await handshake(base);
    await got;
    req.destroy();
    assert.equal(headers["content-type"], "application/x-ndjson");
    const live = JSON.parse(lines[1] as string) as TrusteeEvent;
    assert.equal(live.kind, "attestation");
    assert.equal(live.verdict, "allow");
    assert.equal(live.who.session !== undefined, true);
    assert.ok(h.token !== undefined && !lines.join("\n").includes(h.token));
  });
});
