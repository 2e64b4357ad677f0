/**
 * Black-box tests of our KBS over loopback HTTP, written from the protocol text (trustee.md
 * §1–§5): the RCAR handshake for each key type and hash algorithm, resource release as JWE,
 * and every refusal with upstream's status and ErrorInformation type.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SignJWT } from "jose";
import { RESOURCE_POLICY_ALLOW_ALL } from "../../src/trustee/as/policy/default-policies.js";
import { createRegoPolicyEngine } from "../../src/trustee/as/policy/rego-engine.js";
import { parseTrusteeConfig } from "../../src/trustee/config.js";
import {
  generateAdminKeyPair,
  mintAdminToken,
  parsePrivateKeyPem,
} from "../../src/trustee/kbs/admin-token.js";
import { type RunningTrustee, startTrustee } from "../../src/trustee/trustee.js";
import {
  type Answer,
  call,
  cookieOf,
  getResource,
  handshake,
  jwtPayload,
} from "./trustee-client.js";

/** Decoded JSON inspected by tests. */
// biome-ignore lint/suspicious/noExplicitAny: tests walk decoded token JSON freely
type Json = any;

const ERR = "https://github.com/confidential-containers/kbs/errors/";

function assertError(a: Answer, status: number, type: string, detail?: RegExp): void {
  assert.equal(a.status, status, `status (body: ${a.text})`);
  const body = a.body as { type: string; detail: string };
  assert.equal(body.type, `${ERR}${type}`, a.text);
  if (detail) assert.match(body.detail, detail);
}

const dir = mkdtempSync(join(tmpdir(), "coco-trustee-e2e-"));
const adminKeys = generateAdminKeyPair();
writeFileSync(join(dir, "admin.pub"), adminKeys.publicKeyPem);
const adminKey = parsePrivateKeyPem(adminKeys.privateKeyPem);
let trustee: RunningTrustee;
let base: string;
let adminToken: string;
const secret = "the image decryption key: 0123456789abcdef";

const configText = `
[http_server]
sockets = ["127.0.0.1:0"]
insecure_http = true
payload_request_size = 0.0625

[admin]
authorization_mode = "AuthenticatedAuthorization"

[admin.authentication.bearer_jwt]
identity_providers = [{ issuer = "coco-test", public_key_uri = "${join(dir, "admin.pub")}" }]

[admin.authorization.regex_acl]
acls = [
  { role = "admin", allowed_endpoints = "^/kbs/.+$" },
  { role = "policy-reader", allowed_endpoints = "^/kbs/v0/resource-policy$" },
]

[attestation_service]
timeout = 5

[storage_backend]
storage_type = "LocalFs"

[storage_backend.backends.local_fs]
dir_path = "${join(dir, "store")}"

[[plugins]]
name = "resource"
`;

const admin = (token = adminToken) => ({ authorization: `Bearer ${token}` });
const b64url = (s: string) => Buffer.from(s).toString("base64url");

before(async () => {
  trustee = await startTrustee({
    config: parseTrusteeConfig(configText),
    policyEngine: createRegoPolicyEngine(),
  });
  base = trustee.urls[0] as string;
  adminToken = await mintAdminToken(adminKey, { issuer: "coco-test" });
  const put = await call(
    `${base}/kbs/v0/resource/default/key/one`,
    "POST",
    new TextEncoder().encode(secret),
    admin(),
  );
  assert.equal(put.status, 200, put.text);
});

after(async () => {
  await trustee?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("RCAR handshake and resource release", () => {
  test("the default resource policy refuses the sample TEE with PolicyDeny", async () => {
    const h = await handshake(base);
    assert.equal(h.attest.status, 200, h.attest.text);
    const { answer } = await getResource(base, "default/key/one", h);
    assertError(
      answer,
      401,
      "PolicyDeny",
      /allow is false \(token: cpu0 ear.status=contraindicated\)/,
    );
  });

  test("after installing allow_all, sample handshakes release the resource", async () => {
    const set = await call(
      `${base}/kbs/v0/resource-policy`,
      "POST",
      { policy: b64url(RESOURCE_POLICY_ALLOW_ALL) },
      admin(),
    );
    assert.equal(set.status, 200, set.text);
    const h = await handshake(base);
    const r = await getResource(base, "default/key/one", h);
    assert.equal(r.answer.status, 200, r.answer.text);
    assert.equal(new TextDecoder().decode(r.plaintext), secret);
    assert.deepEqual(Object.keys(r.answer.body as object), [
      "protected",
      "encrypted_key",
      "iv",
      "ciphertext",
      "tag",
    ]);
  });

  for (const keyKind of ["ec-p256", "ec-p521", "rsa"] as const) {
    test(`releases to a ${keyKind} TEE key by cookie and by bearer token`, async () => {
      const h = await handshake(base, { keyKind });
      assert.equal(h.attest.status, 200, h.attest.text);
      for (const via of ["cookie", "bearer"] as const) {
        const r = await getResource(base, "default/key/one", h, via);
        assert.equal(r.answer.status, 200, r.answer.text);
        assert.equal(new TextDecoder().decode(r.plaintext), secret);
      }
    });
  }

  for (const alg of ["sha256", "sha384", "sha512", "sm3"]) {
    test(`negotiates ${alg} and binds the runtime data with it`, async () => {
      const h = await handshake(base, { hashes: [alg] });
      assert.equal(h.hash, alg);
      assert.equal(h.attest.status, 200, h.attest.text);
      const r = await getResource(base, "default/key/one", h);
      assert.equal(r.answer.status, 200);
    });
  }

  test('upstream clients offering every algorithm get sha384 and extra-params ""', async () => {
    const a = await call(`${base}/kbs/v0/auth`, "POST", {
      version: "0.4.0",
      tee: "sample",
      "extra-params": { "supported-hash-algorithms": ["sha256", "sha384", "sha512", "sm3"] },
    });
    assert.equal(a.status, 200);
    const c = a.body as { nonce: string; "extra-params": unknown };
    assert.equal(c["extra-params"], "");
    assert.equal(Buffer.from(c.nonce, "base64").length, 32);
    assert.match(
      a.setCookie ?? "",
      /^kbs-session-id=[^;]+; Expires=\w{3}, \d{2} \w{3} \d{4} [\d:]{8} GMT$/,
    );
  });

  test("the EAR token carries upstream's header and claims", async () => {
    const init =
      "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n\"aa.toml\" = '''\n[token_configs]\n'''\n";
    const h = await handshake(base, { initData: init });
    assert.equal(h.attest.status, 200, h.attest.text);
    const [hdr] = (h.token as string).split(".");
    const header = JSON.parse(Buffer.from(hdr as string, "base64url").toString());
    assert.equal(header.alg, "ES256");
    assert.equal(header.typ, "JWT");
    assert.equal(header.jwk.crv, "P-256");
    const p = jwtPayload(h.token as string) as Json;
    assert.equal(p.eat_profile, "tag:github.com,2024:confidential-containers/Trustee");
    assert.equal(p.iss, "CoCo-Attestation-Service");
    assert.equal(p.exp - p.iat, 300);
    const cpu0 = p.submods.cpu0;
    assert.equal(cpu0["ear.appraisal-policy-id"], "default");
    // No reference values: hardware 97 makes the sample contraindicated.
    assert.equal(cpu0["ear.status"], "contraindicated");
    assert.deepEqual(cpu0["ear.trustworthiness-vector"], {
      "instance-identity": 0,
      configuration: 2,
      executables: 33,
      "file-system": 0,
      hardware: 97,
      "runtime-opaque": 0,
      "storage-opaque": 0,
      "sourced-data": 0,
    });
    const ev = cpu0["ear.veraison.annotated-evidence"];
    assert.deepEqual(Object.keys(ev), [
      "init_data",
      "init_data_claims",
      "report_data",
      "runtime_data_claims",
      "sample",
    ]);
    const { createHash } = await import("node:crypto");
    assert.equal(ev.init_data, createHash("sha256").update(init).digest("base64"));
    assert.deepEqual(ev.init_data_claims["aa.toml"], { token_configs: {} });
    assert.equal(ev.runtime_data_claims.nonce, h.nonce);
    assert.deepEqual(ev.runtime_data_claims["tee-pubkey"], h.publicJwk);
    assert.equal(ev.sample.launch_digest, "abcde");
    assert.deepEqual(cpu0["ear.trustee.identifiers"], { validated: {} });
  });

  test("with reference values registered the sample TEE is affirming", async () => {
    const payload = Buffer.from(
      JSON.stringify({
        svn: ["1"],
        launch_digest: ["abcde"],
        major_version: 1,
        minimum_minor_version: 0,
      }),
    ).toString("base64");
    const reg = await call(
      `${base}/kbs/v0/reference-value`,
      "POST",
      { version: "0.1.0", type: "sample", payload },
      admin(),
    );
    assert.equal(reg.status, 200, reg.text);
    const got = await call(`${base}/kbs/v0/reference-value/svn`, "GET", undefined, admin());
    assert.deepEqual(got.body, ["1"]);
    const h = await handshake(base);
    const cpu0 = (jwtPayload(h.token as string) as Json).submods.cpu0;
    assert.equal(cpu0["ear.status"], "affirming");
    assert.equal(cpu0["ear.trustworthiness-vector"].hardware, 2);
    assert.equal(cpu0["ear.trustworthiness-vector"].executables, 3);
  });

  test("a token too large for a cookie waits in the store; the cookie stays small", async () => {
    const big = `version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"policy.rego" = """\n${"# padding line of an agent policy\n".repeat(300)}"""\n`;
    const h = await handshake(base, { initData: big });
    assert.equal(h.attest.status, 200, h.attest.text);
    assert.ok((h.token as string).length > 8000);
    assert.ok(h.cookie.length < 400, `cookie is ${h.cookie.length} bytes`);
    const r = await getResource(base, "default/key/one", h);
    assert.equal(r.answer.status, 200, r.answer.text);
    assert.equal(new TextDecoder().decode(r.plaintext), secret);
    const again = await call(`${base}/kbs/v0/attest`, "POST", {}, { cookie: h.cookie });
    assert.equal((again.body as { token: string }).token, h.token);
  });

  test("attesting again with an Attested cookie returns the same token, as upstream", async () => {
    const h = await handshake(base);
    const again = await call(`${base}/kbs/v0/attest`, "POST", {}, { cookie: h.cookie });
    assert.equal(again.status, 200);
    assert.equal((again.body as { token: string }).token, h.token);
  });

  test("GET /metrics exposes upstream's counter names; POST is 405", async () => {
    const m = await fetch(`${base}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await m.text();
    assert.match(text, /^kbs_auth_requests_total [1-9]\d*$/m);
    assert.match(text, /^kbs_attestation_successes_total\{tee_type="sample"\} [1-9]\d*$/m);
    assert.match(text, /^kbs_policy_violations_total [1-9]\d*$/m);
    // Counted, but without the resource path (it would tell anyone which secrets exist).
    assert.match(text, /^kbs_resource_reads_total [1-9]\d*$/m);
    assert.doesNotMatch(text, /resource_path/);
    assert.equal((await fetch(`${base}/metrics`, { method: "POST" })).status, 405);
  });

  test("JWKS endpoint publishes the token signing key", async () => {
    const j = await call(`${base}/.well-known/jwks.json`, "GET");
    const keys = (j.body as { keys: Record<string, string>[] }).keys;
    assert.equal(keys.length, 1);
    assert.equal(keys[0]?.alg, "ES256");
  });
});

describe("refusals give the right 4xx ErrorInformation", () => {
  test("wrong protocol version", async () => {
    const a = await call(`${base}/kbs/v0/auth`, "POST", {
      version: "0.3.0",
      tee: "sample",
      "extra-params": "",
    });
    assertError(
      a,
      401,
      "AttestationError",
      /Protocol Version Mismatch: expect =0\.4\.0 while the request is 0\.3\.0/,
    );
  });

  test("unknown and unsupported TEEs", async () => {
    assertError(
      await call(`${base}/kbs/v0/auth`, "POST", {
        version: "0.4.0",
        tee: "nope",
        "extra-params": "",
      }),
      401,
      "AttestationError",
      /unknown TEE/,
    );
    assertError(
      await call(`${base}/kbs/v0/auth`, "POST", {
        version: "0.4.0",
        tee: "cca",
        "extra-params": "",
      }),
      401,
      "AttestationError",
      /cca is not supported/,
    );
  });

  test("attest without a cookie, with a garbage cookie, and with another Trustee's cookie", async () => {
    assertError(
      await call(`${base}/kbs/v0/attest`, "POST", {}),
      401,
      "AttestationError",
      /no kbs-session-id cookie/,
    );
    assertError(
      await call(
        `${base}/kbs/v0/attest`,
        "POST",
        {},
        { cookie: "kbs-session-id=0123456789abcdef0123456789abcdef" },
      ),
      401,
      "AttestationError",
      /unknown session/,
    );
    const foreign = `kbs-session-id=v1.${Buffer.alloc(80, 7).toString("base64url")}`;
    assertError(
      await call(`${base}/kbs/v0/attest`, "POST", {}, { cookie: foreign }),
      401,
      "AttestationError",
      /unknown session/,
    );
  });

  test("nonce mismatch names the nonce", async () => {
    const h = await handshake(base, {
      tamper: (att) => {
        (att["runtime-data"] as Record<string, unknown>).nonce =
          Buffer.alloc(32).toString("base64");
      },
    });
    assertError(h.attest, 401, "AttestationError", /nonce mismatch/);
  });

  test("report-data mismatch names the binding", async () => {
    const h = await handshake(base, {
      evidence: () => ({ svn: "1", report_data: Buffer.alloc(48, 1).toString("base64") }),
    });
    assertError(h.attest, 401, "AttestationError", /report-data binding failed/);
    const g = await handshake(base, { evidence: () => ({ svn: 1 }) });
    assertError(g.attest, 401, "AttestationError", /evidence is malformed/);
  });

  test("a replayed attestation is refused", async () => {
    const h = await handshake(base);
    assert.equal(h.attest.status, 200);
    // Replay the same request with the Authed cookie from /auth.
    const auth = await call(`${base}/kbs/v0/auth`, "POST", {
      version: "0.4.0",
      tee: "sample",
      "extra-params": "",
    });
    const cookie = cookieOf(auth.setCookie);
    const nonce = (auth.body as { nonce: string }).nonce;
    const canonicalize = (await import("canonicalize")).default;
    const { createHash } = await import("node:crypto");
    const rd = canonicalize({
      "tee-pubkey": h.publicJwk,
      nonce,
      "additional-evidence": "",
    }) as string;
    const body = {
      "runtime-data": { nonce, "tee-pubkey": h.publicJwk },
      "tee-evidence": {
        primary_evidence: {
          svn: "1",
          report_data: createHash("sha384").update(rd).digest("base64"),
        },
        additional_evidence: "",
      },
    };
    assert.equal((await call(`${base}/kbs/v0/attest`, "POST", body, { cookie })).status, 200);
    assertError(
      await call(`${base}/kbs/v0/attest`, "POST", body, { cookie }),
      401,
      "AttestationError",
      /already used/,
    );
  });

  test("an expired session is refused", async () => {
    const short = await startTrustee({
      config: parseTrusteeConfig(
        configText
          .replace("timeout = 5", "timeout = 0.0005")
          .replace(
            `dir_path = "${join(dir, "store")}"`,
            `dir_path = "${join(dir, "store-short")}"`,
          ),
      ),
      policyEngine: createRegoPolicyEngine(),
    });
    try {
      const b = short.urls[0] as string;
      const auth = await call(`${b}/kbs/v0/auth`, "POST", {
        version: "0.4.0",
        tee: "sample",
        "extra-params": "",
      });
      await new Promise((r) => setTimeout(r, 80));
      assertError(
        await call(`${b}/kbs/v0/attest`, "POST", {}, { cookie: cookieOf(auth.setCookie) }),
        401,
        "AttestationError",
        /session expired/,
      );
    } finally {
      await short.close();
    }
  });

  test("no token, a tampered token and a foreign token", async () => {
    assertError(await call(`${base}/kbs/v0/resource/default/key/one`, "GET"), 401, "TokenNotFound");
    const h = await handshake(base);
    const [hd, pl, sg] = (h.token as string).split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(pl, "base64url").toString());
    claims.exp += 3600;
    const tampered = `${hd}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${sg}`;
    assertError(
      await call(`${base}/kbs/v0/resource/default/key/one`, "GET", undefined, {
        authorization: `Bearer ${tampered}`,
      }),
      401,
      "TokenVerifierError",
      /signature/,
    );
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = { ...publicKey.export({ format: "jwk" }), alg: "ES256" };
    const foreign = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", typ: "JWT", jwk: jwk as never })
      .sign(privateKey);
    assertError(
      await call(`${base}/kbs/v0/resource/default/key/one`, "GET", undefined, {
        authorization: `Bearer ${foreign}`,
      }),
      401,
      "TokenVerifierError",
      /not trusted/,
    );
    assertError(
      await call(`${base}/kbs/v0/resource/default/key/one`, "GET", undefined, {
        authorization: "Bearer not.a.jwt",
      }),
      401,
      "TokenVerifierError",
    );
  });

  test("traversal and malformed resource paths", async () => {
    const h = await handshake(base);
    // fetch() turns "default/../one" into "one": a grammar violation, as upstream.
    for (const p of ["default/../one", "default/key/one/extra", "default/key", "default/key/-a!"]) {
      const r = await getResource(base, p, h);
      assertError(r.answer, 401, "PluginInternalError", /resource path/);
    }
    // Ambiguous spellings never reach the plugin: refused when the path is canonicalised.
    for (const p of ["default/key/..", "default//one", "default/key/%2e%2e", "default/key/a%20b"]) {
      const r = await getResource(base, p, h);
      assertError(r.answer, 404, "InvalidRequestPath", /Invalid request path/);
    }
    // fetch() would normalize "..", so send the raw path with node:http.
    const raw = await new Promise<Answer>((resolve, reject) => {
      const u = new URL(base);
      const opts = {
        host: u.hostname,
        port: u.port,
        path: "/kbs/v0/resource/a/../../x",
        method: "POST",
        headers: admin(),
      };
      const req = request(opts, (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), text, setCookie: null }),
        );
      });
      req.on("error", reject);
      req.end("x");
    });
    assertError(raw, 404, "InvalidRequestPath", /dot segments/);
  });

  test("a missing resource is 401 PluginInternalError, as upstream", async () => {
    const h = await handshake(base);
    assertError(
      (await getResource(base, "default/key/absent", h)).answer,
      401,
      "PluginInternalError",
      /not found/,
    );
  });

  test("init-data: a foreign format, broken TOML and an unknown algorithm are refused", async () => {
    const fmt = await handshake(base, {
      tamper: (att) => {
        att["init-data"] = { format: "json", body: "{}" };
      },
    });
    assertError(fmt.attest, 401, "AttestationError", /init-data format must be "toml"/);
    const broken = await handshake(base, { initData: 'version = "0.1.0"\nalgorithm = ' });
    assertError(broken.attest, 401, "AttestationError", /init-data is invalid.*not valid TOML/);
    const alg = await handshake(base, {
      initData: 'version = "0.1.0"\nalgorithm = "sha-384"\n[data]\n',
    });
    assertError(alg.attest, 401, "AttestationError", /algorithm must be one of/);
  });

  test("malformed JSON, a bad tee-pubkey and an oversized body", async () => {
    const auth = await fetch(`${base}/kbs/v0/auth`, { method: "POST", body: "{not json" });
    assertError(
      { status: auth.status, body: await auth.json(), text: "", setCookie: null },
      401,
      "AttestationError",
      /not valid JSON/,
    );
    const h = await handshake(base, {
      tamper: (att) => {
        (
          (att["runtime-data"] as Record<string, unknown>)["tee-pubkey"] as Record<string, unknown>
        ).crv = "P-384";
      },
    });
    assert.equal(h.attest.status, 401);
    const big = await call(`${base}/kbs/v0/auth`, "POST", {
      version: "0.4.0",
      tee: "sample",
      pad: "x".repeat(70_000),
    });
    assertError(big, 413, "PayloadTooLarge");
  });

  test("admin: no token, wrong signature, expired token, role not allowed", async () => {
    const body = { policy: b64url(RESOURCE_POLICY_ALLOW_ALL) };
    assertError(
      await call(`${base}/kbs/v0/resource-policy`, "POST", body),
      401,
      "AdminAuthAccess",
      /no Bearer token/,
    );
    const other = generateKeyPairSync("ed25519").privateKey;
    assertError(
      await call(
        `${base}/kbs/v0/resource-policy`,
        "POST",
        body,
        admin(await mintAdminToken(other, { issuer: "coco-test" })),
      ),
      401,
      "AdminAuthAccess",
      /signature/,
    );
    const expired = await mintAdminToken(adminKey, {
      issuer: "coco-test",
      now: new Date(Date.now() - 7200_000),
      ttlSeconds: 60,
    });
    assertError(
      await call(`${base}/kbs/v0/resource-policy`, "POST", body, admin(expired)),
      401,
      "AdminAuthAccess",
      /expired/,
    );
    const noExp = await new SignJWT({ role: "admin" })
      .setProtectedHeader({ alg: "EdDSA" })
      .setIssuer("coco-test")
      .sign(adminKey);
    assertError(
      await call(`${base}/kbs/v0/resource-policy`, "POST", body, admin(noExp)),
      401,
      "AdminAuthAccess",
      /exp/,
    );
    const reader = await mintAdminToken(adminKey, { issuer: "coco-test", role: "policy-reader" });
    assert.equal(
      (await call(`${base}/kbs/v0/resource-policy`, "GET", undefined, admin(reader))).status,
      200,
    );
    assertError(
      await call(`${base}/kbs/v0/attestation-policy`, "POST", body, admin(reader)),
      401,
      "AdminAuthAccess",
      /may not call/,
    );
    assertError(
      await call(`${base}/kbs/v0/resource/a/b/c`, "POST", "x", admin(reader)),
      401,
      "AdminAuthInitialization",
    );
    const wrongIss = await mintAdminToken(adminKey, { issuer: "someone-else" });
    assertError(
      await call(`${base}/kbs/v0/resource-policy`, "GET", undefined, admin(wrongIss)),
      401,
      "AdminAuthAccess",
      /iss/,
    );
  });

  test("policies: padded base64 and Rego syntax errors are refused", async () => {
    const padded = Buffer.from("package policy\n\ndefault allow := true\n").toString("base64");
    assert.match(padded, /=$/);
    assertError(
      await call(`${base}/kbs/v0/resource-policy`, "POST", { policy: padded }, admin()),
      401,
      "ParsePolicyError",
    );
    assertError(
      await call(
        `${base}/kbs/v0/resource-policy`,
        "POST",
        { policy: b64url("package policy\nallow if {") },
        admin(),
      ),
      401,
      "PolicyEngineError",
    );
    assertError(
      await call(
        `${base}/kbs/v0/attestation-policy`,
        "POST",
        { policy_id: "default_cpu", policy: b64url("package policy\n{{") },
        admin(),
      ),
      401,
      "AttestationError",
      /Set Attestation Policy failed/,
    );
    const ids = await call(`${base}/kbs/v0/resource-policy`, "GET", undefined, admin());
    assert.deepEqual(ids.body, ["resource-policy"]);
  });

  test("reference values: unknown id and unsupported extractor", async () => {
    assertError(
      await call(`${base}/kbs/v0/reference-value/absent`, "GET", undefined, admin()),
      401,
      "RvpsError",
    );
    assertError(
      await call(
        `${base}/kbs/v0/reference-value`,
        "POST",
        { version: "0.1.0", type: "swid", payload: "" },
        admin(),
      ),
      401,
      "RvpsError",
      /not supported/,
    );
    assertError(
      await call(
        `${base}/kbs/v0/reference-value`,
        "POST",
        { version: "0.1.0", type: "in-toto", payload: "" },
        admin(),
      ),
      401,
      "RvpsError",
      /needs trusted keys/,
    );
  });

  test("unknown plugins and built-ins with the wrong method are 404 PluginNotFound", async () => {
    assertError(await call(`${base}/kbs/v0/nebula-ca/x`, "GET"), 404, "PluginNotFound");
    assertError(await call(`${base}/kbs/v0/auth`, "GET"), 404, "PluginNotFound");
    assert.equal((await call(`${base}/healthz`, "GET")).status, 200);
  });
});
