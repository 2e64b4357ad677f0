/**
 * Stateless replicas and restarts: two `coco trustee` processes share only a PostgreSQL server,
 * the session-sealing secret and the token signer key. A client alternates between them
 * within one handshake; a restart loses no resource or policy (PostgreSQL and the file store).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import canonicalize from "canonicalize";
import { decryptWithTeeKey, generateTeeKeyPair } from "../../src/crypto/jwe.js";
import { RESOURCE_POLICY_ALLOW_ALL } from "../../src/trustee/as/policy/default-policies.js";
import {
  generateAdminKeyPair,
  mintAdminToken,
  parsePrivateKeyPem,
} from "../../src/trustee/kbs/admin-token.js";
import { repoRoot } from "../helpers/paths.js";
import { freePort } from "../helpers/ports.js";
import { type RunningProcess, startProcess } from "../helpers/process.js";
import { call, cookieOf, getResource, handshake } from "./trustee-client.js";
import { postgresSkip, startPostgres, type TestPostgres } from "./trustee-postgres.js";

const cli = join(repoRoot, "dist", "src", "cli", "main.js");
const dir = mkdtempSync(join(tmpdir(), "coco-trustee-replicas-"));
const adminPair = generateAdminKeyPair();
const adminKey = parsePrivateKeyPem(adminPair.privateKeyPem);
writeFileSync(join(dir, "admin.pub"), adminPair.publicKeyPem);
writeFileSync(join(dir, "session.key"), randomBytes(32).toString("hex"), { mode: 0o600 });
writeFileSync(
  join(dir, "signer.pem"),
  generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    format: "pem",
    type: "pkcs8",
  }),
  { mode: 0o600 },
);

let pg: TestPostgres | undefined;
const procs: RunningProcess[] = [];

function config(port: number, storage: string): string {
  return `
[http_server]
sockets = ["127.0.0.1:${port}"]
insecure_http = true

[admin]
authorization_mode = "AuthenticatedAuthorization"

[admin.authentication.bearer_jwt]
identity_providers = [{ public_key_uri = "${join(dir, "admin.pub")}" }]

[admin.authorization.regex_acl]
acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]

[attestation_service.attestation_token_broker.signer]
key_path = "${join(dir, "signer.pem")}"

${storage}

[[plugins]]
name = "resource"

[stateless_session]
secret_file = "${join(dir, "session.key")}"
replay_ledger = "storage"
`;
}

async function startReplica(
  name: string,
  storage: string,
): Promise<{ url: string; proc: RunningProcess }> {
  const port = await freePort();
  const file = join(dir, `${name}.toml`);
  writeFileSync(file, config(port, storage));
  const proc = await startProcess({
    name,
    command: process.execPath,
    args: [cli, "trustee", "--config", file],
    ready: { kind: "http", url: `http://127.0.0.1:${port}/healthz` },
    timeoutMs: 20000,
  });
  procs.push(proc);
  return { url: `http://127.0.0.1:${port}`, proc };
}

const pgStorage = () => {
  const u = new URL((pg as TestPostgres).url);
  return `[storage_backend]
storage_type = "Postgres"

[storage_backend.backends.postgres]
host = "127.0.0.1"
port = ${u.port}
db = "postgres"
username = "coco"
password = "${(pg as TestPostgres).password}"`;
};

before(async () => {
  if (!postgresSkip) pg = await startPostgres();
});

after(async () => {
  for (const p of procs) await p.stop();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const admin = async () => ({ authorization: `Bearer ${await mintAdminToken(adminKey)}` });

/** A sample-TEE attestation body for `nonce`, its report data bound to `publicJwk` (SHA-384). */
function sampleAttestation(nonce: string, publicJwk: unknown): Record<string, unknown> {
  const rd = canonicalize({ "tee-pubkey": publicJwk, nonce, "additional-evidence": "" }) as string;
  return {
    "runtime-data": { nonce, "tee-pubkey": publicJwk },
    "tee-evidence": {
      primary_evidence: { svn: "1", report_data: createHash("sha384").update(rd).digest("base64") },
      additional_evidence: "",
    },
  };
}

/** Stores a resource through one replica's admin API. */
async function putResource(url: string, path: string, value: string): Promise<void> {
  const r = await call(
    `${url}/kbs/v0/resource/${path}`,
    "POST",
    new TextEncoder().encode(value),
    await admin(),
  );
  assert.equal(r.status, 200, r.text);
}

/** Sets the allow-all resource policy through one replica's admin API. */
async function allowAllResources(url: string): Promise<void> {
  const pol = { policy: Buffer.from(RESOURCE_POLICY_ALLOW_ALL).toString("base64url") };
  const r = await call(`${url}/kbs/v0/resource-policy`, "POST", pol, await admin());
  assert.equal(r.status, 200, r.text);
}

test("two replicas over PostgreSQL: the client alternates between them in every step", {
  skip: postgresSkip,
}, async () => {
  const a = await startReplica("replica-a", pgStorage());
  const b = await startReplica("replica-b", pgStorage());
  // Admin writes go to one replica, reads come from the other.
  await putResource(a.url, "default/key/shared", "s3cret");
  await allowAllResources(b.url);

  for (let i = 0; i < 6; i++) {
    const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
    const { publicJwk, privateKey } = generateTeeKeyPair();
    const auth = await call(`${first.url}/kbs/v0/auth`, "POST", {
      version: "0.4.0",
      tee: "sample",
      "extra-params": "",
    });
    assert.equal(auth.status, 200);
    const nonce = (auth.body as { nonce: string }).nonce;
    const body = sampleAttestation(nonce, publicJwk);
    const att = await call(`${second.url}/kbs/v0/attest`, "POST", body, {
      cookie: cookieOf(auth.setCookie),
    });
    assert.equal(att.status, 200, att.text);
    // The replay ledger lives in PostgreSQL: replaying on the first replica is refused too.
    const replay = await call(`${first.url}/kbs/v0/attest`, "POST", body, {
      cookie: cookieOf(auth.setCookie),
    });
    assert.equal(replay.status, 401);
    assert.match((replay.body as { detail: string }).detail, /already used/);
    const res = await call(`${first.url}/kbs/v0/resource/default/key/shared`, "GET", undefined, {
      cookie: cookieOf(att.setCookie),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(
      new TextDecoder().decode(await decryptWithTeeKey(privateKey, res.body as never)),
      "s3cret",
    );
  }

  // Both replicas cache the resource read (1 s). A delete on A is seen by A at once and by B
  // within the TTL, never later (docs/trustee.md "Caches").
  const hb = await handshake(b.url);
  assert.equal((await getResource(b.url, "default/key/shared", hb)).answer.status, 200);
  const ha = await handshake(a.url);
  const del = await call(
    `${a.url}/kbs/v0/resource/default/key/shared`,
    "DELETE",
    undefined,
    await admin(),
  );
  assert.equal(del.status, 200, del.text);
  const onA = await getResource(a.url, "default/key/shared", ha);
  assert.equal(onA.answer.status, 401);
  assert.match((onA.answer.body as { detail: string }).detail, /resource not found/);
  await new Promise((r) => setTimeout(r, 1100));
  const onB = await getResource(b.url, "default/key/shared", hb);
  assert.equal(onB.answer.status, 401, "replica B still serves a resource deleted over 1 s ago");
  await putResource(b.url, "default/key/shared", "s3cret");

  // A restart of both replicas loses nothing.
  await a.proc.stop();
  await b.proc.stop();
  const c = await startReplica("replica-c", pgStorage());
  const h = await handshake(c.url);
  const r = await getResource(c.url, "default/key/shared", h);
  assert.equal(r.answer.status, 200, r.answer.text);
  assert.equal(new TextDecoder().decode(r.plaintext), "s3cret");
  await c.proc.stop();
});

test("the embedded file store keeps resources and policies across a restart", async () => {
  const storage = `[storage_backend]
storage_type = "LocalFs"

[storage_backend.backends.local_fs]
dir_path = "${join(dir, "fs-store")}"`;
  const first = await startReplica("fs-1", storage);
  await putResource(first.url, "default/key/kept", "kept");
  await allowAllResources(first.url);
  await first.proc.stop();
  const second = await startReplica("fs-2", storage);
  const h = await handshake(second.url);
  const r = await getResource(second.url, "default/key/kept", h);
  assert.equal(r.answer.status, 200, r.answer.text);
  assert.equal(new TextDecoder().decode(r.plaintext), "kept");
  await second.proc.stop();
});

/** One request on a fresh connection, so the cluster's round-robin spreads them over workers. */
function fresh(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; cookie?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method, agent: false, headers: { "content-type": "application/json", ...headers } },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => {
          const sc = res.headers["set-cookie"]?.[0];
          resolve({
            status: res.statusCode ?? 0,
            body: text ? JSON.parse(text) : undefined,
            ...(sc ? { cookie: sc.split(";")[0] as string } : {}),
          });
        });
      },
    );
    req.on("error", reject);
    req.end(body === undefined || typeof body === "string" ? body : JSON.stringify(body));
  });
}

test("worker_count = 2: handshakes span worker processes and challenges stay single-use", async () => {
  const storage = `[storage_backend]
storage_type = "LocalFs"

[storage_backend.backends.local_fs]
dir_path = "${join(dir, "fs-workers")}"`;
  const port = await freePort();
  const file = join(dir, "workers.toml");
  writeFileSync(
    file,
    `[http_server]
sockets = ["127.0.0.1:${port}"]
insecure_http = true
worker_count = 2

[admin]
authorization_mode = "InsecureAllowAll"

${storage}

[[plugins]]
name = "resource"
`,
  );
  const proc = await startProcess({
    name: "trustee-workers",
    command: process.execPath,
    args: [cli, "trustee", "--config", file],
    ready: { kind: "http", url: `http://127.0.0.1:${port}/healthz` },
    timeoutMs: 20000,
  });
  procs.push(proc);
  const url = `http://127.0.0.1:${port}`;
  // Both workers must be up before the first request is spread.
  for (let i = 0; i < 50 && childPids(proc.pid).length < 2; i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.equal(childPids(proc.pid).length, 2);
  assert.equal((await fresh(`${url}/kbs/v0/resource/default/key/w`, "POST", "w")).status, 200);
  const pol = { policy: Buffer.from(RESOURCE_POLICY_ALLOW_ALL).toString("base64url") };
  assert.equal((await fresh(`${url}/kbs/v0/resource-policy`, "POST", pol)).status, 200);
  for (let i = 0; i < 8; i++) {
    const { publicJwk, privateKey } = generateTeeKeyPair();
    const auth = await fresh(`${url}/kbs/v0/auth`, "POST", {
      version: "0.4.0",
      tee: "sample",
      "extra-params": "",
    });
    const nonce = (auth.body as { nonce: string }).nonce;
    const body = sampleAttestation(nonce, publicJwk);
    const att = await fresh(`${url}/kbs/v0/attest`, "POST", body, {
      cookie: auth.cookie as string,
    });
    assert.equal(att.status, 200);
    const replay = await fresh(`${url}/kbs/v0/attest`, "POST", body, {
      cookie: auth.cookie as string,
    });
    assert.equal(replay.status, 401);
    const res = await fresh(`${url}/kbs/v0/resource/default/key/w`, "GET", undefined, {
      cookie: att.cookie as string,
    });
    assert.equal(res.status, 200);
    assert.equal(
      new TextDecoder().decode(await decryptWithTeeKey(privateKey, res.body as never)),
      "w",
    );
  }
  await proc.stop();
  assert.deepEqual(childPids(proc.pid), []);
});

function childPids(pid: number): number[] {
  const r = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}
