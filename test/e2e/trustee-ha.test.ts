// run-tests: timeout 6 min (three replicas, HAProxy and PostgreSQL, restarted under load)
/**
 * High availability, shown: three `coco trustee` replicas behind HAProxy (Debian's, a real
 * load balancer) share one PostgreSQL server, the session secret and the token signer. Guests
 * run full handshakes and fetch a resource through the load balancer while an admin writes
 * resources and reference values; meanwhile one replica is killed (SIGKILL) and started again,
 * then PostgreSQL is restarted. Checked afterwards, on every replica directly: every write the
 * admin API acknowledged is there (0 lost acknowledged writes), and every client request got an
 * HTTP answer from some replica (none lost in transit, none answered by HAProxy itself). The
 * events of all replicas are queryable through the load balancer and hold no secret.
 */
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, type IncomingHttpHeaders, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
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
import { handshake } from "./trustee-client.js";
import { postgresSkip, startPostgres, type TestPostgres } from "./trustee-postgres.js";

const HAPROXY = "/usr/sbin/haproxy";
const skip: string | false =
  postgresSkip ||
  (existsSync(HAPROXY)
    ? false
    : `${HAPROXY} is absent (apt-get install haproxy; scripts/setup installs it)`);

const cli = join(repoRoot, "dist", "src", "cli", "main.js");
const dir = mkdtempSync(join(tmpdir(), "coco-trustee-ha-"));
const procs: RunningProcess[] = [];
let pg: TestPostgres | undefined;

after(async () => {
  for (const p of procs) await p.stop();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One HTTP exchange's outcome: an answer (any status) or a transport failure. */
interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** What the clients saw, over the whole run. */
const seen = {
  requests: 0,
  answered: 0,
  /** Requests that got no HTTP answer at all (reset, refused, timed out). */
  transport: [] as string[],
  /** Answers HAProxy made itself (no replica answered): its HTML error pages. */
  byBalancer: [] as string[],
  statuses: new Map<number, number>(),
  /** The distinct refusals (status and detail, numbers elided), for the report. */
  refusals: new Set<string>(),
};

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

/** Sends one request; records whether some replica answered it. Never throws. */
function send(
  url: string,
  method: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<Reply | undefined> {
  seen.requests++;
  return new Promise((resolve) => {
    const req = request(url, { method, agent, headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (e) => {
        seen.transport.push(`${method} ${url}: ${e.message}`);
        resolve(undefined);
      });
      res.on("end", () => {
        const reply = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        };
        seen.answered++;
        seen.statuses.set(reply.status, (seen.statuses.get(reply.status) ?? 0) + 1);
        if (reply.status !== 200 && seen.refusals.size < 20) {
          seen.refusals.add(`${reply.status} ${reply.text.slice(0, 160).replace(/\d+/g, "N")}`);
        }
        // A replica answers JSON (or an empty 200); HAProxy's own error pages are HTML.
        if (/text\/html/.test(String(res.headers["content-type"]))) {
          seen.byBalancer.push(`${method} ${url}: ${reply.status}`);
        }
        resolve(reply);
      });
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 60 s")));
    req.on("error", (e) => {
      seen.transport.push(`${method} ${url}: ${e.message}`);
      resolve(undefined);
    });
    req.end(body);
  });
}

const json = (o: unknown) => ({
  body: JSON.stringify(o),
  headers: { "content-type": "application/json" },
});

test("three replicas behind HAProxy: a replica killed and PostgreSQL restarted mid-load lose no acknowledged write and leave no request unanswered", {
  skip,
}, async () => {
  pg = await startPostgres();
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
  const adminToken = await mintAdminToken(adminKey, { ttlSeconds: 3600 });
  const admin = { authorization: `Bearer ${adminToken}` };

  // --- three replicas, identical but for the port ---
  const ports = [await freePort(), await freePort(), await freePort()];
  const replicas: (RunningProcess | undefined)[] = [undefined, undefined, undefined];
  const startReplica = async (i: number) => {
    const port = ports[i] as number;
    const file = join(dir, `replica-${i}.toml`);
    writeFileSync(
      file,
      `[http_server]
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

[storage_backend]
storage_type = "Postgres"

[storage_backend.backends.postgres]
host = "127.0.0.1"
port = ${(pg as TestPostgres).port}
db = "postgres"
username = "coco"
password = "${(pg as TestPostgres).password}"

[[plugins]]
name = "resource"

[stateless_session]
secret_file = "${join(dir, "session.key")}"
replay_ledger = "storage"

[events]
trusted_proxies = ["127.0.0.1"]
`,
    );
    const p = await startProcess({
      name: `replica-${i}`,
      command: process.execPath,
      args: [cli, "trustee", "--config", file],
      ready: { kind: "http", url: `http://127.0.0.1:${port}/healthz` },
      timeoutMs: 30_000,
    });
    procs.push(p);
    replicas[i] = p;
  };
  for (let i = 0; i < 3; i++) await startReplica(i);

  // --- HAProxy in front: health checks, retries of requests no replica answered ---
  const lbPort = await freePort();
  const lbConfig = join(dir, "haproxy.cfg");
  writeFileSync(
    lbConfig,
    `global
  maxconn 1024

defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  option forwardfor
  option http-buffer-request
  # A request whose replica died before answering goes to another replica; a request a
  # replica answered (even with an error) is never sent twice.
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response

frontend kbs
  bind 127.0.0.1:${lbPort}
  default_backend trustee

backend trustee
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
  default-server inter 250ms fall 2 rise 1
${ports.map((p, i) => `  server replica${i} 127.0.0.1:${p} check`).join("\n")}
`,
  );
  const lb = await startProcess({
    name: "haproxy",
    command: HAPROXY,
    args: ["-db", "-f", lbConfig],
    ready: { kind: "tcp", port: lbPort },
    timeoutMs: 15_000,
  });
  procs.push(lb);
  const LB = `http://127.0.0.1:${lbPort}`;

  // --- state set before the load ---
  const fixed = `fixed-${randomBytes(8).toString("hex")}`;
  const secrets = [fixed];
  const put = async (path: string, value: string) =>
    send(`${LB}/kbs/v0/resource/${path}`, "POST", value, admin);
  assert.equal((await put("default/ha/fixed", fixed))?.status, 200);
  const policy = Buffer.from(RESOURCE_POLICY_ALLOW_ALL).toString("base64url");
  const pol = json({ policy });
  const setPolicy = await send(`${LB}/kbs/v0/resource-policy`, "POST", pol.body, {
    ...pol.headers,
    ...admin,
  });
  assert.equal(setPolicy?.status, 200, setPolicy?.text);
  const rvMessage = (values: Record<string, unknown>) =>
    json({
      version: "0.1.0",
      type: "sample",
      payload: Buffer.from(JSON.stringify(values)).toString("base64"),
    });

  // --- the load: guests through the load balancer, an admin writing ---
  let stopping = false;
  let phase = "steady";
  const cycles = new Map<string, { ok: number; failed: number }>();
  const wrong: string[] = [];
  const count = (ok: boolean) => {
    const c = cycles.get(phase) ?? { ok: 0, failed: 0 };
    if (ok) c.ok++;
    else c.failed++;
    cycles.set(phase, c);
  };

  const guest = async () => {
    while (!stopping) {
      const { publicJwk, privateKey } = generateTeeKeyPair();
      const auth = await send(
        `${LB}/kbs/v0/auth`,
        "POST",
        JSON.stringify({ version: "0.4.0", tee: "sample", "extra-params": "" }),
        { "content-type": "application/json" },
      );
      if (auth?.status !== 200) {
        count(false);
        continue;
      }
      // The rest of the handshake, written from the protocol (trustee-client.ts's evidence).
      const h = await handshakeFrom(auth, publicJwk);
      if (h === undefined) {
        count(false);
        continue;
      }
      const res = await send(`${LB}/kbs/v0/resource/default/ha/fixed`, "GET", undefined, {
        cookie: h,
      });
      if (res?.status !== 200) {
        count(false);
        continue;
      }
      const plain = new TextDecoder().decode(
        await decryptWithTeeKey(privateKey, JSON.parse(res.text)),
      );
      if (plain !== fixed) wrong.push(plain.slice(0, 64));
      count(true);
    }
  };

  /** Sends /attest for an answered /auth; returns the attested cookie or undefined. */
  const handshakeFrom = async (auth: Reply, publicJwk: unknown): Promise<string | undefined> => {
    const nonce = (JSON.parse(auth.text) as { nonce: string }).nonce;
    const cookie = String(auth.headers["set-cookie"]?.[0] ?? "").split(";")[0] as string;
    const rd = canonicalize({
      "tee-pubkey": publicJwk,
      nonce,
      "additional-evidence": "",
    }) as string;
    const att = await send(
      `${LB}/kbs/v0/attest`,
      "POST",
      JSON.stringify({
        "init-data": null,
        "runtime-data": { nonce, "tee-pubkey": publicJwk },
        "tee-evidence": {
          primary_evidence: {
            svn: "1",
            report_data: createHash("sha384").update(rd).digest("base64"),
          },
          additional_evidence: "",
        },
      }),
      { "content-type": "application/json", cookie },
    );
    if (att?.status !== 200) return undefined;
    return String(att.headers["set-cookie"]?.[0] ?? "").split(";")[0];
  };

  const ackedResources = new Map<string, string>();
  const ackedValues = new Map<string, string>();
  const writer = async () => {
    for (let i = 0; !stopping; i++) {
      const value = `w${i}-${randomBytes(8).toString("hex")}`;
      secrets.push(value);
      if ((await put(`default/ha/w${i}`, value))?.status === 200) {
        ackedResources.set(`default/ha/w${i}`, value);
      }
      if (i % 4 === 0) {
        const rv = `v${i}-${randomBytes(4).toString("hex")}`;
        const m = rvMessage({ [`ha_rv_${i}`]: rv });
        const r = await send(`${LB}/kbs/v0/reference-value`, "POST", m.body, {
          ...m.headers,
          ...admin,
        });
        if (r?.status === 200) ackedValues.set(`ha_rv_${i}`, rv);
      }
    }
  };

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const load = [guest(), guest(), guest(), guest(), guest(), guest(), writer()];

  // --- the faults ---
  await sleep(2000);
  phase = "replica killed";
  const victim = replicas[1] as RunningProcess;
  process.kill(victim.pid, "SIGKILL");
  await victim.stop();
  await sleep(2000);
  phase = "replica back";
  await startReplica(1);
  await sleep(2000);
  phase = "postgres restarting";
  await (pg as TestPostgres).restart();
  phase = "postgres back";
  await sleep(3000);
  stopping = true;
  await Promise.all(load);
  agent.destroy();

  const report = {
    requests: seen.requests,
    answered: seen.answered,
    statuses: Object.fromEntries(seen.statuses),
    cycles: Object.fromEntries(cycles),
    acked: { resources: ackedResources.size, referenceValues: ackedValues.size },
    refusals: [...seen.refusals],
    // What a replica logged for a 500 (a failure it did not map to a refusal).
    internal: replicas
      .flatMap((r) => (r?.output() ?? "").split("\n"))
      .filter((l) => /internal error/.test(l))
      .slice(0, 3)
      .map((l) => l.slice(0, 300)),
  };
  process.stderr.write(`trustee-ha: ${JSON.stringify(report)}\n`);

  // Every client request got an HTTP answer, and a replica gave it.
  assert.deepEqual(seen.transport.slice(0, 5), [], "requests left without an answer");
  assert.deepEqual(seen.byBalancer.slice(0, 5), [], "requests no replica answered");
  assert.equal(seen.answered, seen.requests);
  // A store outage is refused naming it (401), never an internal error.
  assert.deepEqual(report.internal, [], "a replica answered 500");
  assert.equal(seen.statuses.get(500), undefined);
  assert.deepEqual(wrong, [], "a guest got a wrong resource value");
  // The service was there before and came back after each fault.
  for (const p of ["steady", "replica killed", "replica back", "postgres back"]) {
    assert.ok((cycles.get(p)?.ok ?? 0) > 0, `no guest completed a handshake in phase "${p}"`);
  }
  assert.ok(ackedResources.size > 0 && ackedValues.size > 0, "the admin got no write through");

  // --- consistency, on each replica directly: 0 lost acknowledged writes ---
  for (const port of ports) {
    const base = `http://127.0.0.1:${port}`;
    const h = await handshake(base);
    assert.equal(h.attest.status, 200, `replica :${port}: ${h.attest.text}`);
    const lost: string[] = [];
    for (const [path, value] of [...ackedResources, ["default/ha/fixed", fixed] as const]) {
      const r = await send(`${base}/kbs/v0/resource/${path}`, "GET", undefined, {
        cookie: h.cookie,
      });
      const got =
        r?.status === 200
          ? new TextDecoder().decode(await decryptWithTeeKey(h.privateKey, JSON.parse(r.text)))
          : `HTTP ${r?.status}`;
      if (got !== value) lost.push(`${path}: ${got}`);
    }
    for (const [name, value] of ackedValues) {
      const r = await send(`${base}/kbs/v0/reference-value/${name}`, "GET", undefined, admin);
      if (r?.status !== 200 || JSON.stringify(JSON.parse(r.text)) !== JSON.stringify(value)) {
        lost.push(`${name}: HTTP ${r?.status} ${r?.text.slice(0, 80)}`);
      }
    }
    // The resources above were released to a sample-TEE guest, which the default resource
    // policy refuses: the allow-all policy set through the load balancer is in effect here.
    assert.deepEqual(lost, [], `replica :${port} lost acknowledged writes`);
  }

  // --- events of every replica, through the load balancer, without a secret ---
  await sleep(1500); // each replica writes its events once a second
  const ev = await send(`${LB}/kbs/v0/events?limit=10000`, "GET", undefined, admin);
  assert.equal(ev?.status, 200);
  const events = (ev?.text ?? "")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { replica: string; kind: string; verdict: string });
  const byReplica = new Set(events.map((e) => e.replica));
  // Three replicas, one of them restarted under a new name (its pid): all of them decided.
  assert.ok(byReplica.size >= 3, `events from ${[...byReplica].join(", ")}`);
  const restarted = (replicas[1] as RunningProcess).pid;
  assert.ok(
    [...byReplica].some((r) => r.endsWith(`_${restarted}`)),
    `the restarted replica (pid ${restarted}) took no request: ${[...byReplica].join(", ")}`,
  );
  assert.ok(events.some((e) => e.kind === "attestation" && e.verdict === "allow"));
  assert.ok(events.some((e) => e.kind === "admin" && e.verdict === "allow"));
  for (const s of [...secrets, adminToken]) {
    assert.ok(!(ev?.text ?? "").includes(s), "an event holds a secret");
  }
});
