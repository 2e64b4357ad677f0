/**
 * `npm run bench -- kbs-soak [--seconds N] [--clients N] [--hostile N]`: `coco trustee` (LocalFs
 * store, default verifiers, the sample one included) under honest guests with hostile clients
 * mixed in, and a `kill -9` + restart in the middle.
 *
 * Phases of N seconds (default 20): A1 honest clients alone, B1 honest plus hostile, A2, B2
 * (interleaved, so the machine's own load hits both sides), C honest plus hostile with a
 * `kill -9` of Trustee 3 s in and a restart, D honest after the restart. All along an admin
 * writer uploads resources and records which writes were acknowledged; at the end every
 * acknowledged write is read back through an attested handshake.
 *
 * Honest client: auth + attest (sample TEE, EC P-256 key, a 1 KiB init-data) + resource GET,
 * the plaintext checked every 50th time. Hostile clients run in their own process (so their
 * CPU work never stalls the honest clients' event loop) and cycle through the attack classes
 * of issue #15: a 250 KB init-data (valid: it succeeds), a tee-pubkey with a 24,576-bit
 * modulus, a 1.9 MB body nested 1.9 million deep, a 3,000-key object, duplicate keys,
 * ambiguous paths, and a client that disconnects mid-body.
 *
 * Printed: answers by status per phase and kind of client, honest handshakes/s, p50/p99 and
 * server CPU per honest handshake per phase, server RSS and store size every 5 s, restart
 * downtime, lost acknowledged writes; and the ratio of honest p99 without hostile load to
 * p99 with it (A1+A2 against B1+B2; goal >= 0.5, i.e. p99 under hostile load within 2x).
 */

import { spawn } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import canonicalize from "canonicalize";
import { decryptWithTeeKey, generateTeeKeyPair } from "../src/crypto/jwe.js";
import { RESOURCE_POLICY_ALLOW_ALL } from "../src/trustee/as/policy/default-policies.js";
import { freePort } from "../test/helpers/ports.js";
import { type RunningProcess, startProcess } from "../test/helpers/process.js";
import { percentile, printHeader, report, summarize } from "./harness.js";

interface Reply {
  status: number;
  body: Buffer;
  cookie?: string;
}

function send(
  agent: Agent | false,
  port: number,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: {
          "content-type": "application/json",
          ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const sc = res.headers["set-cookie"]?.[0];
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            ...(sc ? { cookie: sc.split(";")[0] as string } : {}),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Counts of answers by status (0 = connection error) per phase and kind of client. */
type Tally = Map<string, number>;
const tallies = new Map<string, Tally>();
let currentPhase = "warm-up";
function count(kind: string, status: number | string): void {
  const key = `${currentPhase.padEnd(10)} ${kind}`;
  const t = tallies.get(key) ?? new Map<string, number>();
  tallies.set(key, t);
  const k = String(status);
  t.set(k, (t.get(k) ?? 0) + 1);
}

const SMALL_INIT_DATA = `version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = '''\n[token_configs.kbs]\nurl = "http://127.0.0.1:8080"\n'''\n"cdh.toml" = '''\nsocket = "unix:///run/confidential-containers/cdh.sock"\n[kbc]\nname = "cc_kbc"\nurl = "http://127.0.0.1:8080"\n'''\n"note" = "${"n".repeat(800)}"\n`;
const BIG_INIT_DATA = `version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"policy.rego" = "${"p".repeat(250_000)}"\n`;

function authBody(): string {
  return JSON.stringify({
    version: "0.4.0",
    tee: "sample",
    "extra-params": { "supported-hash-algorithms": ["sha256", "sha384", "sha512", "sm3"] },
  });
}

/** auth + attest with `teePubkey` and `initData`; returns the attest reply and the cookie. */
async function attest(
  agent: Agent,
  port: number,
  teePubkey: unknown,
  initData: string,
): Promise<{ auth: Reply; att?: Reply }> {
  const auth = await send(agent, port, "POST", "/kbs/v0/auth", authBody());
  if (auth.status !== 200 || auth.cookie === undefined) return { auth };
  const nonce = (JSON.parse(auth.body.toString()) as { nonce: string }).nonce;
  const rd = canonicalize({ "tee-pubkey": teePubkey, nonce, "additional-evidence": "" }) as string;
  const body = JSON.stringify({
    "init-data": { format: "toml", body: initData },
    "runtime-data": { nonce, "tee-pubkey": teePubkey },
    "tee-evidence": {
      primary_evidence: {
        svn: "1",
        report_data: createHash("sha384").update(rd).digest("base64"),
      },
      additional_evidence: "",
    },
  });
  const att = await send(agent, port, "POST", "/kbs/v0/attest", body, { cookie: auth.cookie });
  return { auth, att };
}

interface Run {
  stop: boolean;
  latencies: number[];
  ok: number;
}

/** One honest guest looping full handshakes until `run.stop`. */
async function honest(port: () => number, run: Run): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const { publicJwk, privateKey } = generateTeeKeyPair("ec-p256");
  let i = 0;
  while (!run.stop) {
    const t0 = process.hrtime.bigint();
    try {
      const { auth, att } = await attest(agent, port(), publicJwk, SMALL_INIT_DATA);
      if (att === undefined) {
        count("honest", auth.status);
        continue;
      }
      if (att.status !== 200 || att.cookie === undefined) {
        count("honest", att.status);
        continue;
      }
      const r = await send(agent, port(), "GET", "/kbs/v0/resource/soak/key/honest", undefined, {
        cookie: att.cookie,
      });
      count("honest", r.status);
      if (r.status !== 200) continue;
      if (i++ % 50 === 0) {
        const plain = await decryptWithTeeKey(privateKey, JSON.parse(r.body.toString()));
        if (Buffer.from(plain).toString() !== "honest-secret") count("honest", "WRONG-SECRET");
      }
      run.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      run.ok++;
    } catch {
      count("honest", 0);
      agent.destroy();
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  agent.destroy();
}

/** The hostile requests, one per kind; each resolves to a status (0 = connection error). */
function hostileKinds(): Array<[string, (port: number, agent: Agent) => Promise<number>]> {
  const rsa = generateTeeKeyPair("rsa").publicJwk as { n: string; e: string };
  const hugeN = Buffer.concat(Array.from({ length: 12 }, () => Buffer.from(rsa.n, "base64url")));
  const hugeKey = { kty: "RSA", alg: "RSA-OAEP-256", n: hugeN.toString("base64url"), e: rsa.e };
  const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({
    format: "jwk",
  });
  const ecKey = { kty: "EC", crv: "P-256", alg: "ECDH-ES+A256KW", x: p256.x, y: p256.y };
  const deep = Buffer.from("[".repeat(1_900_000));
  const flood = `{${Array.from({ length: 3000 }, (_, i) => `"k${i}":0`).join(",")}}`;
  const dup = '{"version":"0.4.0","tee":"snp","tee":"sample","extra-params":""}';
  const paths = [
    "/kbs/v0/resource/%2e%2e/key/honest",
    "/kbs/v0//resource-policy",
    "/kbs/v0/resource%2Dpolicy",
    "/kbs/v0/resource/soak/key/honest/",
    "/kbs/v0/resource/soak%2Fkey/honest/x",
  ];
  let p = 0;
  const status = async (r: Promise<{ auth: Reply; att?: Reply }>) => {
    const { auth, att } = await r;
    return att?.status ?? auth.status;
  };
  return [
    ["big-init-data", (port, agent) => status(attest(agent, port, ecKey, BIG_INIT_DATA))],
    ["huge-rsa-key", (port, agent) => status(attest(agent, port, hugeKey, SMALL_INIT_DATA))],
    [
      "deep-json",
      async (port, agent) => {
        const a = await send(agent, port, "POST", "/kbs/v0/auth", authBody());
        if (a.cookie === undefined) return a.status;
        return (await send(false, port, "POST", "/kbs/v0/attest", deep, { cookie: a.cookie }))
          .status;
      },
    ],
    ["key-flood", async (port) => (await send(false, port, "POST", "/kbs/v0/auth", flood)).status],
    [
      "duplicate-keys",
      async (port, agent) => (await send(agent, port, "POST", "/kbs/v0/auth", dup)).status,
    ],
    [
      "odd-path",
      async (port, agent) =>
        (await send(agent, port, "POST", paths[p++ % paths.length] as string, "{}")).status,
    ],
    [
      "disconnect",
      (port) =>
        new Promise<number>((resolve) => {
          const req = request({
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/kbs/v0/auth",
            agent: false,
            headers: { "content-type": "application/json", "content-length": "60000" },
          });
          req.on("error", () => resolve(-1));
          req.on("response", (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.write('{"version":"0.4.0",');
          setTimeout(() => {
            req.destroy();
            resolve(-1);
          }, 5);
        }),
    ],
  ];
}

/** One hostile client cycling through the kinds as fast as answers come. */
async function hostile(port: number, run: Run, offset: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const kinds = hostileKinds();
  let i = offset;
  while (!run.stop) {
    const [kind, fn] = kinds[i++ % kinds.length] as [
      string,
      (p: number, a: Agent) => Promise<number>,
    ];
    try {
      count(kind, await fn(port, agent));
    } catch {
      count(kind, 0);
      agent.destroy();
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  agent.destroy();
}

/**
 * The hostile clients, run in their own process (so their own CPU work never delays the
 * honest clients' event loop and inflates honest latencies): `n` clients for `seconds`, then
 * the tallies as one JSON line on stdout.
 */
export async function hostileWorker(port: number, n: number, seconds: number): Promise<void> {
  currentPhase = "";
  const r: Run = { stop: false, latencies: [], ok: 0 };
  const tasks = Array.from({ length: n }, (_, i) => hostile(port, r, i));
  await new Promise((res) => setTimeout(res, seconds * 1000));
  r.stop = true;
  await Promise.all(tasks);
  const out: Record<string, Record<string, number>> = {};
  for (const [k, t] of tallies) out[k.trim()] = Object.fromEntries(t);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** Starts {@link hostileWorker} in a child process; resolves with its tallies when done. */
function spawnHostile(port: number, n: number, seconds: number, phase: string): Promise<void> {
  const self = new URL(import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(self)}); await m.hostileWorker(${port}, ${n}, ${seconds});`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", () => {
      try {
        const t = JSON.parse(out.trim().split("\n").pop() ?? "{}") as Record<
          string,
          Record<string, number>
        >;
        for (const [kind, counts] of Object.entries(t)) {
          for (const [status, n] of Object.entries(counts)) {
            const key = `${phase.padEnd(10)} ${kind}`;
            const m = tallies.get(key) ?? new Map<string, number>();
            tallies.set(key, m);
            m.set(status, (m.get(status) ?? 0) + n);
          }
        }
      } catch {
        count("hostile-process", "NO-REPORT");
      }
      resolve();
    });
  });
}

/** The admin writer: distinct keys, each acknowledged write recorded. */
async function writer(port: () => number, run: Run, acked: Map<string, string>): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let n = 0;
  while (!run.stop) {
    const key = `soak/w/n${n}`;
    const value = `value-${n}-${"v".repeat(100)}`;
    try {
      const r = await send(agent, port(), "POST", `/kbs/v0/resource/${key}`, value, {
        "content-type": "application/octet-stream",
      });
      count("writer", r.status);
      if (r.status === 200) acked.set(key, value);
    } catch {
      count("writer", 0);
      agent.destroy();
      await new Promise((r) => setTimeout(r, 20));
    }
    n++;
    await new Promise((r) => setTimeout(r, 5));
  }
  agent.destroy();
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return Number(m?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

function duMiB(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else total += st.size;
      } catch {
        // removed meanwhile
      }
    }
  };
  walk(dir);
  return total / 1024 / 1024;
}

/** CPU time (user + system) a process has used, in milliseconds (100 Hz clock ticks). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** Entry point for `npm run bench -- kbs-soak`. */
export async function run(args: string[]): Promise<void> {
  printHeader("kbs-soak");
  const arg = (name: string, def: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const seconds = arg("--seconds", 20);
  const clients = arg("--clients", 64);
  const hostiles = arg("--hostile", 8);
  const dir = mkdtempSync(join(tmpdir(), "coco-bench-soak-"));
  const store = join(dir, "store");
  const port = await freePort();
  const configPath = join(dir, "kbs.toml");
  writeFileSync(
    configPath,
    `[http_server]\nsockets = ["127.0.0.1:${port}"]\ninsecure_http = true\n[admin]\nauthorization_mode = "InsecureAllowAll"\n[storage_backend]\nstorage_type = "LocalFs"\n[storage_backend.backends.local_fs]\ndir_path = "${store}"\n[[plugins]]\nname = "resource"\n`,
  );
  const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
  const start = () =>
    startProcess({
      name: "coco trustee",
      command: process.execPath,
      args: [cli, "trustee", "--config", configPath],
      ready: { kind: "http", url: `http://127.0.0.1:${port}/healthz` },
      timeoutMs: 60_000,
    });
  let server: RunningProcess;
  try {
    server = await start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const samples: Array<{ label: string; rss: number; store: number }> = [];
  const sample = (label: string) => {
    const s = { label, rss: rssMiB(server.pid), store: duMiB(store) };
    samples.push(s);
    console.log(
      `  ${label.padEnd(24)} rss ${s.rss.toFixed(1).padStart(7)} MiB  store ${s.store.toFixed(2).padStart(8)} MiB`,
    );
  };
  const acked = new Map<string, string>();
  try {
    const setup = new Agent({ keepAlive: true });
    await send(setup, port, "POST", "/kbs/v0/resource/soak/key/honest", "honest-secret", {
      "content-type": "application/octet-stream",
    });
    await send(
      setup,
      port,
      "POST",
      "/kbs/v0/resource-policy",
      JSON.stringify({ policy: Buffer.from(RESOURCE_POLICY_ALLOW_ALL).toString("base64url") }),
    );
    setup.destroy();

    /** Honest clients (and hostile ones in their own process) for `secs`; `during` runs alongside. */
    const phase = async (
      name: string,
      withHostile: boolean,
      secs: number,
      during?: () => Promise<void>,
    ) => {
      currentPhase = name;
      const honestRun: Run = { stop: false, latencies: [], ok: 0 };
      const tasks = Array.from({ length: clients }, () => honest(() => port, honestRun));
      const hostileDone = withHostile ? spawnHostile(port, hostiles, secs, name) : undefined;
      const pid = server.pid;
      const cpu0 = cpuMs(pid);
      const t0 = Date.now();
      const ticking = (async () => {
        for (let s = 0; s < secs; s += 5) {
          await new Promise((r) => setTimeout(r, Math.min(5, secs - s) * 1000));
          sample(`${name} t=${Math.round((Date.now() - t0) / 1000)}s`);
        }
      })();
      await Promise.all([ticking, during?.()]);
      const cpu = pid === server.pid ? cpuMs(pid) - cpu0 : Number.NaN;
      honestRun.stop = true;
      await Promise.all(tasks);
      await hostileDone;
      const wall = (Date.now() - t0) / 1000;
      return {
        lat: honestRun.latencies,
        perSec: honestRun.ok / wall,
        cpuPerHonest: cpu / Math.max(1, honestRun.ok),
      };
    };

    const writerRun: Run = { stop: false, latencies: [], ok: 0 };
    const writing = writer(() => port, writerRun, acked);
    console.log(
      `warm-up 5 s, then phases of ${seconds} s: A1 honest, B1 +hostile, A2 honest, B2 +hostile, C +hostile with kill -9 and restart, D honest; ${clients} honest clients, ${hostiles} hostile (own process)`,
    );
    await phase("warm-up", false, 5);
    tallies.clear();
    sample("start");
    const a1 = await phase("A1", false, seconds);
    const b1 = await phase("B1", true, seconds);
    const a2 = await phase("A2", false, seconds);
    const b2 = await phase("B2", true, seconds);
    let downMs = 0;
    const c = await phase("C", true, seconds, async () => {
      // kill -9 in the middle of the run; clients and the writer keep going against the port.
      await new Promise((r) => setTimeout(r, 3000));
      process.kill(server.pid, "SIGKILL");
      const killedAt = Date.now();
      await server.stop();
      server = await start();
      downMs = Date.now() - killedAt;
      console.log(`  kill -9 and restart: down for ${downMs} ms`);
    });
    const d = await phase("D", false, seconds);
    writerRun.stop = true;
    await writing;
    currentPhase = "verify";

    // Every acknowledged write must read back, through an attested handshake.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const { publicJwk, privateKey } = generateTeeKeyPair("ec-p256");
    const { att } = await attest(agent, port, publicJwk, SMALL_INIT_DATA);
    let lost = 0;
    if (att?.status !== 200 || att.cookie === undefined) {
      throw new Error(`verification handshake failed: ${att?.status}`);
    }
    for (const [key, value] of acked) {
      const r = await send(agent, port, "GET", `/kbs/v0/resource/${key}`, undefined, {
        cookie: att.cookie,
      });
      const ok =
        r.status === 200 &&
        Buffer.from(
          await decryptWithTeeKey(privateKey, JSON.parse(r.body.toString())),
        ).toString() === value;
      if (!ok) lost++;
    }
    agent.destroy();

    console.log(
      "\nanswers by status (phase, kind of client; 0 = connection error, -1 = we hung up):",
    );
    for (const [kind, t] of [...tallies].sort(([x], [y]) => (x < y ? -1 : 1))) {
      console.log(`  ${kind.padEnd(28)} ${[...t].map(([st, n]) => `${st}:${n}`).join("  ")}`);
    }
    const row = (name: string, r: { lat: number[]; perSec: number; cpuPerHonest: number }) =>
      console.log(
        `${name.padEnd(28)} honest handshakes/s ${r.perSec.toFixed(1).padStart(6)}  p50 ${percentile(r.lat, 50).toFixed(1).padStart(7)} ms  p99 ${percentile(r.lat, 99).toFixed(1).padStart(7)} ms  server CPU/honest handshake ${Number.isNaN(r.cpuPerHonest) ? "n/a" : `${r.cpuPerHonest.toFixed(2)} ms`}  n=${r.lat.length}`,
      );
    console.log("");
    row("A1 honest only", a1);
    row("B1 honest + hostile", b1);
    row("A2 honest only", a2);
    row("B2 honest + hostile", b2);
    row("C + kill -9 and restart", c);
    row("D honest, after restart", d);
    console.log(`restart: down ${downMs} ms`);
    console.log(`acknowledged writes: ${acked.size}, lost across the restart: ${lost}`);
    const series = (prefix: string) => samples.filter((x) => x.label.startsWith(prefix));
    for (const name of ["A1", "B1", "A2", "B2", "C", "D"]) {
      const xs = series(`${name} `);
      if (xs.length === 0) continue;
      console.log(
        `${name.padEnd(3)} server RSS MiB ${xs.map((x) => x.rss.toFixed(0)).join(" ")}  store MiB ${xs.map((x) => x.store.toFixed(2)).join(" ")}`,
      );
    }
    const without = [...a1.lat, ...a2.lat];
    const withHostile = [...b1.lat, ...b2.lat];
    const pA = summarize("honest p99, honest clients only", [percentile(without, 99)]);
    const pB = summarize("honest p99, with hostile clients", [percentile(withHostile, 99)]);
    pA.extra = { p50_ms: percentile(without, 50).toFixed(1), n: without.length };
    pB.extra = { p50_ms: percentile(withHostile, 50).toFixed(1), n: withHostile.length };
    report(
      "kbs-soak",
      pB,
      pA,
      "p99 without / with hostile load (goal >= 0.5, i.e. with <= 2x without)",
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
