/**
 * Hostile admin clients against the `regex_acl` (issue #15, class 2): a role whose pattern
 * excludes an endpoint must not reach it through another spelling of the same path (percent-
 * encoded letters, trailing or dot segments, double slashes, a query string). The ACL, the
 * router and the resource store must all see one canonical path.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { rawRequest } from "../../../test/helpers/raw-http.js";
import { RESOURCE_POLICY_ALLOW_ALL } from "../as/policy/default-policies.js";
import { createRegoPolicyEngine } from "../as/policy/rego-engine.js";
import { parseTrusteeConfig } from "../config.js";
import { type RunningTrustee, startTrustee } from "../trustee.js";
import { generateAdminKeyPair, mintAdminToken, parsePrivateKeyPem } from "./admin-token.js";

const dir = mkdtempSync(join(tmpdir(), "coco-hostile-acl-"));
const keys = generateAdminKeyPair();
writeFileSync(join(dir, "admin.pub"), keys.publicKeyPem);
const key = parsePrivateKeyPem(keys.privateKeyPem);

// Roles as an operator would write them for upstream's Rust `regex` (no look-around):
// - "ops" may call any endpoint whose name has no dash (auth, attest, resource/...), so never
//   resource-policy, attestation-policy or reference-value;
// - "writer" may call endpoints with a sub-path (resource/<r>/<t>/<t>, reference-value/<id>),
//   so never a bare endpoint such as resource-policy;
// - "tenant-a" may write resources under repository tenant-a only.
const CONFIG = `
[http_server]
sockets = ["127.0.0.1:0"]
insecure_http = true
[admin]
authorization_mode = "AuthenticatedAuthorization"
[admin.authentication.bearer_jwt]
identity_providers = [{ issuer = "acl-test", public_key_uri = "${join(dir, "admin.pub")}" }]
[admin.authorization.regex_acl]
acls = [
  { role = "admin", allowed_endpoints = "^/kbs/.+$" },
  { role = "ops", allowed_endpoints = "^/kbs/v0/[^-]+$" },
  { role = "writer", allowed_endpoints = "^/kbs/v0/[a-z-]+/.+$" },
  { role = "tenant-a", allowed_endpoints = "^/kbs/v0/resource/tenant-a/[^/]+/[^/]+$" },
]
[storage_backend]
storage_type = "LocalFs"
[storage_backend.backends.local_fs]
dir_path = "${join(dir, "store")}"
[[plugins]]
name = "resource"
`;

const policyBody = JSON.stringify({
  policy: Buffer.from(RESOURCE_POLICY_ALLOW_ALL).toString("base64url"),
});

describe("admin ACL against equivalent spellings of a path", () => {
  let t: RunningTrustee;
  let base: string;
  const tokens: Record<string, string> = {};
  before(async () => {
    t = await startTrustee({
      config: parseTrusteeConfig(CONFIG),
      policyEngine: createRegoPolicyEngine(),
    });
    base = t.urls[0] as string;
    for (const role of ["admin", "ops", "writer", "tenant-a"]) {
      tokens[role] = await mintAdminToken(key, { role, issuer: "acl-test" });
    }
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const as = (role: string) => ({
    authorization: `Bearer ${tokens[role]}`,
    "content-type": "application/json",
  });

  test("the canonical spelling is denied to the roles that exclude it", async () => {
    for (const role of ["ops", "writer", "tenant-a"]) {
      const a = await rawRequest(base, "POST", "/kbs/v0/resource-policy", policyBody, as(role));
      assert.equal(a.status, 401, `${role}: ${a.text}`);
    }
  });

  test("no other spelling of POST /kbs/v0/resource-policy reaches it for ops or writer", async () => {
    const spellings: Array<[string, string]> = [
      ["ops", "/kbs/v0/resource%2Dpolicy"],
      ["ops", "/kbs/v0/resource%2dpolicy"],
      ["ops", "/kbs/v0/%72esource%2Dpolicy"],
      ["writer", "/kbs/v0/resource-policy/x"],
      ["writer", "/kbs/v0/resource-policy/."],
      ["writer", "/kbs/v0/resource-policy/%2e"],
      ["writer", "/kbs/v0/resource-policy/"],
      ["writer", "/kbs/v0/resource/../resource-policy"],
      ["writer", "/kbs/v0/resource-policy/.."],
      ["writer", "/kbs/v0//resource-policy"],
      ["ops", "/kbs/v0/resource%2Dpolicy?x"],
    ];
    const reached: string[] = [];
    for (const [role, target] of spellings) {
      const a = await rawRequest(base, "POST", target, policyBody, as(role));
      if (!(a.status >= 400 && a.status < 500)) reached.push(`${role} ${target}: ${a.status}`);
    }
    assert.deepEqual(reached, []);
  });

  test("ambiguous spellings are refused before routing, even for a role allowed everything", async () => {
    for (const target of [
      "/kbs/v0/resource-policy/",
      "/kbs/v0//resource-policy",
      "/kbs/v0/./resource-policy",
      "/kbs/v0/resource/%2e%2e/resource-policy",
      "/kbs/v0/resource/tenant-a%2Fx/y/z",
      "/kbs/v0/resource/tenant-a%5Cx/y/z",
      "/kbs/v0/resource/tenant-a/x/y%00",
      "/kbs/v0/resource/tenant-a/x/%",
      "/kbs/v0/resource/tenant-a/x/y%2",
      "//kbs/v0/resource-policy",
    ]) {
      const a = await rawRequest(base, "POST", target, policyBody, as("admin"));
      assert.equal(a.status, 404, `${target}: ${a.text}`);
      assert.equal(
        (a.body as { type?: string }).type,
        "https://github.com/confidential-containers/kbs/errors/InvalidRequestPath",
        target,
      );
    }
  });

  test("a tenant role writes only its own repository, whatever the spelling", async () => {
    const ok = await rawRequest(
      base,
      "POST",
      "/kbs/v0/resource/tenant-a/key/one",
      "A",
      as("tenant-a"),
    );
    assert.equal(ok.status, 200, ok.text);
    for (const target of [
      "/kbs/v0/resource/tenant-b/key/one",
      "/kbs/v0/resource/tenant-a/../tenant-b/key/one",
      "/kbs/v0/resource/tenant-a/%2e%2e/tenant-b/key",
      "/kbs/v0/resource/%74enant-b/key/one",
    ]) {
      const a = await rawRequest(base, "POST", target, "B", as("tenant-a"));
      assert.notEqual(a.status, 200, `${target}: ${a.text}`);
    }
  });

  test("the resource store sees the same string as the ACL and the router", async () => {
    // %6F is 'o': decoded once, the canonical path is /kbs/v0/resource/tenant-a/key/two.
    const put = await rawRequest(
      base,
      "POST",
      "/kbs/v0/resource/tenant-a/key/tw%6F",
      "2",
      as("tenant-a"),
    );
    assert.equal(put.status, 200, put.text);
    assert.deepEqual((await t.store.list("repository")).includes("tenant-a/key/two"), true);
    assert.deepEqual(
      (await t.store.list("repository")).some((k) => k.includes("%")),
      false,
    );
  });

  test("admin endpoints take no query string (the ACL would see a different URI than the router)", async () => {
    const a = await rawRequest(
      base,
      "POST",
      "/kbs/v0/resource-policy?a/b",
      policyBody,
      as("admin"),
    );
    assert.equal(a.status, 404, a.text);
  });
});
