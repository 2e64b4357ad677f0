/**
 * The dashboard over a live Trustee, without a browser (the browser test is
 * test/e2e/dashboard-browser.test.ts): refusals without an admin token, sign-in, what the
 * overview shows (and never shows: resource values), escaping of hostile strings, the live
 * stream, sign-out.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { call, handshake } from "../../../test/e2e/trustee-client.js";
import { createRegoPolicyEngine } from "../as/policy/rego-engine.js";
import { parseTrusteeConfig } from "../config.js";
import { type RunningTrustee, startTrustee } from "../trustee.js";
import { generateAdminKeyPair, mintAdminToken, parsePrivateKeyPem } from "./admin-token.js";

describe("the dashboard", () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-dashboard-"));
  const keys = generateAdminKeyPair();
  const key = parsePrivateKeyPem(keys.privateKeyPem);
  let t: RunningTrustee;
  let base: string;
  let adminToken: string;
  let auditorToken: string;
  const secret = `dashboard-secret-${Math.random().toString(36).slice(2)}`;

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
identity_providers = [{ public_key_uri = "${join(dir, "admin.pub")}" }]
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
    adminToken = await mintAdminToken(key, { subject: "alice" });
    auditorToken = await mintAdminToken(key, { subject: "bob", role: "auditor" });
    const bearer = { authorization: `Bearer ${adminToken}` };
    // A resource (its value must never show), a hostile reference value, two denials.
    const put = await call(
      `${base}/kbs/v0/resource/default/key/db`,
      "POST",
      new TextEncoder().encode(secret),
      bearer,
    );
    assert.equal(put.status, 200, put.text);
    const rv = await call(
      `${base}/kbs/v0/reference-value`,
      "POST",
      {
        version: "0.1.0",
        type: "sample",
        payload: Buffer.from(JSON.stringify({ svn: ["<script>alert(1)</script>"] })).toString(
          "base64",
        ),
      },
      bearer,
    );
    assert.equal(rv.status, 200, rv.text);
    const h = await handshake(base);
    assert.equal(h.attest.status, 200);
    // The default resource policy refuses the sample TEE: a denial with its rule.
    const denied = await call(`${base}/kbs/v0/resource/default/key/db`, "GET", undefined, {
      cookie: h.cookie,
    });
    assert.equal(denied.status, 401);
    // A hostile TEE name lands in a refusal's detail.
    const hostile = await call(`${base}/kbs/v0/auth`, "POST", {
      version: "0.4.0",
      tee: "<img src=x onerror=alert(1)>",
      "extra-params": "",
    });
    assert.equal(hostile.status, 401);
    await t.events?.flush();
  });

  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Posts the sign-in form. */
  const signIn = (token: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/kbs/v0/dashboard/login`, {
      method: "POST",
      body: new URLSearchParams({ token }),
      redirect: "manual",
      headers,
    });

  test("without an admin token every page and the stream are refused with the sign-in page", async () => {
    for (const path of ["/kbs/v0/dashboard", "/kbs/v0/dashboard/stream"]) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 401, path);
      assert.match(r.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(r.headers.get("content-security-policy") ?? "", /script-src 'self'/);
      const html = await r.text();
      assert.match(html, /<form method="post" action="\/kbs\/v0\/dashboard\/login">/);
      assert.match(html, /Access refused: /);
      assert.doesNotMatch(html, /default\/key\/db/);
    }
    // A forged cookie is checked like a header.
    const forged = await fetch(`${base}/kbs/v0/dashboard`, {
      headers: { cookie: "kbs-dashboard=eyJhbGciOiJub25lIn0.e30." },
    });
    assert.equal(forged.status, 401);
    // The refusals are admin events.
    await t.events?.flush();
    const ev = await t.events?.query({ kind: "admin", verdict: "deny" });
    assert.ok((ev ?? []).some((e) => e.action === "GET /kbs/v0/dashboard"));
  });

  test("sign-in takes an admin token only, from this origin", async () => {
    const auditor = await signIn(auditorToken);
    assert.equal(auditor.status, 401);
    assert.equal(auditor.headers.get("set-cookie"), null);
    assert.match(await auditor.text(), /role &quot;auditor&quot; may not call this endpoint/);
    const garbage = await signIn("not a token <b>");
    assert.equal(garbage.status, 401);
    assert.match(await garbage.text(), /paste the admin token/);
    const foreign = await signIn(adminToken, { origin: "http://evil.example" });
    assert.equal(foreign.status, 401);
    assert.equal(foreign.headers.get("set-cookie"), null);
    const crossSite = await signIn(adminToken, { "sec-fetch-site": "cross-site" });
    assert.equal(crossSite.status, 401);
    assert.equal(crossSite.headers.get("set-cookie"), null);
    const ok = await signIn(adminToken);
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get("location"), "/kbs/v0/dashboard");
    const cookie = ok.headers.get("set-cookie") ?? "";
    assert.match(
      cookie,
      /^kbs-dashboard=[^;]+; Path=\/kbs\/v0\/dashboard; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    // The sign-in is an admin event naming the admin; the token is in no event.
    await t.events?.flush();
    const ev = await t.events?.query({ kind: "admin" });
    assert.ok(
      (ev ?? []).some(
        (e) =>
          e.action === "dashboard sign-in" && e.verdict === "allow" && e.who.admin?.sub === "alice",
      ),
    );
    assert.ok(!JSON.stringify(ev).includes(adminToken));
  });

  test("the overview: attestations with trust vectors, denials with reasons, names only, escaped", async () => {
    const ok = await signIn(adminToken);
    const cookie = (ok.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const r = await fetch(`${base}/kbs/v0/dashboard`, { headers: { cookie } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("x-frame-options"), "DENY");
    const html = await r.text();
    assert.match(html, /signed in as alice/);
    // The allowed attestation with the sample TEE's trust vector.
    assert.match(html, /<tr class="allow"><td>[^<]+<\/td><td>allow<\/td><td>sample<\/td>/);
    assert.match(html, /cpu0 (affirming|warning|contraindicated|none)(: [a-z-]+ -?\d+)/);
    // The denial with the rule that refused it, and the hostile TEE name, escaped.
    assert.match(html, /ERR_KBS_POLICY_DENY: Access denied by policy/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.doesNotMatch(html, /<img /);
    // Resource names, never values; policies; the hostile reference value, escaped.
    assert.match(html, /<li>default\/key\/db<\/li>/);
    assert.ok(!html.includes(secret), "a resource value is on the page");
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.doesNotMatch(html, /<script>alert/);
    assert.match(html, /<script src="\/kbs\/v0\/dashboard\/app.js" defer><\/script>/);
    assert.ok(!html.includes(adminToken));
    // The bearer header works as well as the cookie.
    const bearer = await fetch(`${base}/kbs/v0/dashboard`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(bearer.status, 200);
  });

  test("the stream sends each new event; sign-out clears the cookie", async () => {
    const ok = await signIn(adminToken);
    const cookie = (ok.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const got = await new Promise<string>((resolve, reject) => {
      const req = request(`${base}/kbs/v0/dashboard/stream`, { headers: { cookie } }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString("utf8");
          if (text.includes("\n\ndata: ") || /^data: /m.test(text)) {
            const line = text.split("\n").find((l) => l.startsWith("data: "));
            if (line !== undefined) {
              req.destroy();
              resolve(line.slice(6));
            }
          }
        });
        // Once the stream is open, make a decision.
        void call(`${base}/kbs/v0/resource/default/key/db`, "GET");
      });
      req.on("error", (e) => {
        if (!/socket hang up|aborted/.test(e.message)) reject(e);
      });
      req.end();
    });
    const e = JSON.parse(got) as { kind: string; verdict: string; failure?: { code: string } };
    assert.equal(e.kind, "resource");
    assert.equal(e.verdict, "deny");
    assert.equal(e.failure?.code, "ERR_KBS_TOKEN_NOT_FOUND");

    const out = await fetch(`${base}/kbs/v0/dashboard/logout`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie },
    });
    assert.equal(out.status, 303);
    assert.match(out.headers.get("set-cookie") ?? "", /^kbs-dashboard=; .*Max-Age=0/);
  });

  test("the static files hold no data and are served without a token", async () => {
    const js = await fetch(`${base}/kbs/v0/dashboard/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
    const text = await js.text();
    assert.match(text, /new EventSource\("\/kbs\/v0\/dashboard\/stream"\)/);
    assert.doesNotMatch(text, /innerHTML/);
    const css = await fetch(`${base}/kbs/v0/dashboard/app.css`);
    assert.equal(css.status, 200);
  });
});
