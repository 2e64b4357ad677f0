import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTrusteeConfig } from "./config.js";

const upstreamDefault = `
[http_server]
insecure_http = true

[attestation_token]
insecure_header_jwk = true

[attestation_service]
type = "coco_as_builtin"

[attestation_service.attestation_token_broker]
duration_min = 5

[attestation_service.rvps_config]
type = "BuiltIn"

[admin]
authorization_mode = "InsecureAllowAll"

[storage_backend]
storage_type = "LocalFs"

[storage_backend.backends.local_fs]
dir_path = "/opt/confidential-containers/storage"

[[plugins]]
name = "resource"
storage_backend_type = "kvstorage"
`;

test("reads upstream's kbs-config.toml layout", () => {
  const c = parseTrusteeConfig(upstreamDefault);
  assert.deepEqual(c.http.sockets, ["127.0.0.1:8080"]);
  assert.equal(c.http.payloadRequestSizeMiB, 2);
  assert.equal(c.admin.mode, "InsecureAllowAll");
  assert.equal(c.attestationToken.insecureHeaderJwk, true);
  assert.deepEqual(c.storage, { type: "LocalFs", dirPath: "/opt/confidential-containers/storage" });
  assert.equal(c.resourcePlugin, true);
  assert.equal(c.attestationService.timeoutMin, 5);
});

test("reads the docker-compose admin section with identity providers and ACLs", () => {
  const c = parseTrusteeConfig(`
[http_server]
sockets = ["0.0.0.0:8080"]
insecure_http = true
[admin]
authorization_mode = "AuthenticatedAuthorization"
[admin.authentication.bearer_jwt]
identity_providers = [{ issuer = "TrusteeInDocker", public_key_uri = "/keys/public.pub" }]
[admin.authorization.regex_acl]
acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]
[storage_backend]
storage_type = "postgres"
[storage_backend.backends.postgres]
host = "db"
port = 5432
`);
  assert.equal(c.admin.mode, "AuthenticatedAuthorization");
  if (c.admin.mode === "AuthenticatedAuthorization") {
    assert.deepEqual(c.admin.identityProviders, [
      { issuer: "TrusteeInDocker", publicKeyUri: "/keys/public.pub" },
    ]);
    assert.deepEqual(c.admin.acls, [{ role: "admin", allowedEndpoints: "^/kbs/.+$" }]);
  }
  assert.equal(c.storage.type, "Postgres");
  assert.equal(c.resourcePlugin, false);
});

test("an unknown key is an error naming it", () => {
  const cases: [string, RegExp][] = [
    [`${upstreamDefault}\n[bogus]\n`, /unknown key bogus/],
    [
      upstreamDefault.replace("insecure_http = true", "insecure_http = true\nsocket = 1"),
      /unknown key http_server\.socket/,
    ],
    [
      upstreamDefault.replace("duration_min = 5", "duration_mins = 5"),
      /attestation_token_broker\.duration_mins/,
    ],
    [
      upstreamDefault.replace('name = "resource"', 'name = "resource"\ndir_path = "/x"'),
      /plugins\[0\]\.dir_path/,
    ],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseTrusteeConfig(text),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "ERR_TRUSTEE_CONFIG");
        assert.match(e.message, re);
        return true;
      },
    );
  }
});

test("features not implemented here fail loudly", () => {
  const cases: [string, RegExp][] = [
    [
      upstreamDefault.replace('storage_type = "LocalFs"', 'storage_type = "Redis"'),
      /Redis.*not implemented/,
    ],
    [
      upstreamDefault.replace('type = "coco_as_builtin"', 'type = "coco_as_grpc"'),
      /coco_as_grpc.*not implemented/,
    ],
    [
      upstreamDefault.replace(
        'name = "resource"\nstorage_backend_type = "kvstorage"',
        'name = "nebula-ca"',
      ),
      /only the resource plugin/,
    ],
    [
      upstreamDefault.replace("insecure_http = true", "insecure_http = false"),
      /HTTPS needs private_key and certificate/,
    ],
    [
      upstreamDefault.replace(
        'authorization_mode = "InsecureAllowAll"',
        'authorization_mode = "Sometimes"',
      ),
      /unknown mode/,
    ],
    [
      upstreamDefault
        .replace("insecure_http = true", "insecure_http = true\nworker_count = 2")
        .replace('storage_type = "LocalFs"', 'storage_type = "Memory"'),
      /worker_count > 1 needs storage several processes can share/,
    ],
    [
      upstreamDefault.replace("insecure_http = true", "insecure_http = true\nworker_count = 1.5"),
      /worker_count must be an integer/,
    ],
    ["[http_server]\n", /missing required table \[admin\]/],
    ["not = [toml", /not valid TOML/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseTrusteeConfig(text), re);
});

test("[events]: defaults, values, and bad values named", () => {
  assert.deepEqual(parseTrusteeConfig(upstreamDefault).events, {
    enabled: true,
    storeMiB: 64,
    retentionDays: 30,
    trustedProxies: [],
  });
  const set = parseTrusteeConfig(
    `${upstreamDefault}\n[events]\nenabled = false\nstore_mib = 8\nretention_days = 7\ntrusted_proxies = ["10.0.0.2", "::1"]\n`,
  );
  assert.deepEqual(set.events, {
    enabled: false,
    storeMiB: 8,
    retentionDays: 7,
    trustedProxies: ["10.0.0.2", "::1"],
  });
  const bad: [string, RegExp][] = [
    ["retention = 3", /unknown key events\.retention/],
    ['trusted_proxies = ["lb.example"]', /events\.trusted_proxies: "lb\.example" is not an IP/],
    ['enabled = "yes"', /events\.enabled/],
    ['store_mib = "8"', /events\.store_mib/],
  ];
  for (const [line, re] of bad) {
    assert.throws(
      () => parseTrusteeConfig(`${upstreamDefault}\n[events]\n${line}\n`),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "ERR_TRUSTEE_CONFIG");
        assert.match(e.message, re);
        return true;
      },
    );
  }
});

test("the handshake's public-key crypto goes to the thread pool only when a core has no worker", async () => {
  const { cryptoOffThread } = await import("./trustee.js");
  assert.equal(cryptoOffThread(1, 2), true);
  assert.equal(cryptoOffThread(2, 2), false);
  assert.equal(cryptoOffThread(4, 2), false);
  assert.equal(cryptoOffThread(1, 1), false);
});
