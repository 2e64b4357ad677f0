/**
 * `npm run bench -- kbs-events [--rounds N] [--handshakes N]`: what attestation events cost a
 * handshake. Two `coco trustee` processes with the same config except `[events] enabled`
 * (the peer: events off) take the same full handshakes (auth + attest + resource GET, 64
 * clients, as `bench kbs`) in alternating rounds, and the server CPU per handshake of each is
 * compared: alternating in one run is what makes a few percent visible on a shared machine
 * whose load moves the single-run figures by more than that. In the same run, the recording
 * step alone (the decision middleware building and recording the two events of a handshake)
 * is timed in this process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type IncomingMessage, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateTeeKeyPair } from "../src/crypto/jwe.js";
import { RESOURCE_POLICY_ALLOW_ALL } from "../src/trustee/as/policy/default-policies.js";
import { createEventRecorder } from "../src/trustee/events/index.js";
import { createDecisionRecorder } from "../src/trustee/kbs/decisions.js";
import type { Route } from "../src/trustee/kbs/routes.js";
import { createMemoryStore } from "../src/trustee/storage/memory.js";
import { freePort } from "../test/helpers/ports.js";
import { type RunningProcess, startProcess } from "../test/helpers/process.js";
import { printHeader, report, summarize } from "./harness.js";
import { runLoad } from "./kbs.js";

/** CPU time (user + system) a process has used, ms (/proc/<pid>/stat, 100 Hz ticks). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

function post(port: number, path: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: "POST" },
      (res: IncomingMessage) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function startServer(
  dir: string,
  name: string,
  events: boolean,
): Promise<{ port: number; proc: RunningProcess }> {
  const port = await freePort();
  const config = join(dir, `${name}.toml`);
  writeFileSync(
    config,
    `[http_server]\nsockets = ["127.0.0.1:${port}"]\ninsecure_http = true\n[admin]\nauthorization_mode = "InsecureAllowAll"\n[storage_backend]\nstorage_type = "Memory"\n[[plugins]]\nname = "resource"\n[events]\nenabled = ${events}\n`,
  );
  const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
  const proc = await startProcess({
    name,
    command: process.execPath,
    args: [cli, "trustee", "--config", config],
    ready: { kind: "http", url: `http://127.0.0.1:${port}/healthz` },
  });
  await post(port, "/kbs/v0/resource/default/key/bench", Buffer.from("bench-secret"));
  await post(
    port,
    "/kbs/v0/resource-policy",
    Buffer.from(
      JSON.stringify({ policy: Buffer.from(RESOURCE_POLICY_ALLOW_ALL).toString("base64url") }),
    ),
  );
  return { port, proc };
}

/** The recording step of one handshake (attest + resource events), timed alone, µs. */
async function recordingCost(n: number): Promise<number> {
  const events = createEventRecorder({ store: createMemoryStore(), replica: "bench" });
  const record = createDecisionRecorder(events);
  const { publicJwk } = generateTeeKeyPair("ec-p256");
  const claims = {
    submods: {
      cpu0: {
        "ear.status": "warning",
        "ear.trustworthiness-vector": { configuration: 2, executables: 33, hardware: 97 },
        "ear.appraisal-policy-id": "default",
        "ear.veraison.annotated-evidence": {
          sample: { svn: "1", launch_digest: "abcde", debug: false },
          report_data: "x".repeat(64),
          runtime_data_claims: { nonce: "n".repeat(44), "tee-pubkey": publicJwk },
        },
      },
    },
  };
  const attest = {
    method: "POST",
    path: "/kbs/v0/attest",
    event: { kind: "attestation", action: "attest" },
  } as Route;
  const resource = {
    method: "GET",
    path: "/kbs/v0/resource",
    event: { kind: "resource", action: "resource" },
  } as Route;
  const req = { socket: { remoteAddress: "127.0.0.1" }, headers: {} } as unknown as IncomingMessage;
  const once = () => {
    record(
      attest,
      req,
      { tee: "sample", session: "0123456789abcdef0123456789abcdef", claims },
      performance.now(),
    );
    record(
      resource,
      req,
      { session: "0123456789abcdef0123456789abcdef", claims, resource: "default/key/bench" },
      performance.now(),
    );
  };
  for (let i = 0; i < 2000; i++) once();
  await events.flush();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    once();
    // The recorder writes a batch per second; here once per 1,000 handshakes, in the timing.
    if (i % 1000 === 999) await events.flush();
  }
  await events.flush();
  const c = process.cpuUsage(c0);
  await events.close();
  return (c.user + c.system) / n;
}

/** Entry point for `npm run bench -- kbs-events`. */
export async function run(args: string[]): Promise<void> {
  printHeader("kbs-events");
  const arg = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const rounds = arg("--rounds", 6);
  const per = arg("--handshakes", 1500);
  const dir = mkdtempSync(join(tmpdir(), "coco-bench-kbs-events-"));
  const servers: RunningProcess[] = [];
  try {
    const off = await startServer(dir, "events-off", false);
    servers.push(off.proc);
    const on = await startServer(dir, "events-on", true);
    servers.push(on.proc);
    for (const s of [off, on]) await runLoad(s.port, 8, 300); // warm-up
    const cpu: Record<"on" | "off", number[]> = { on: [], off: [] };
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so a trend in the machine's load hits both alike.
      const order = r % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const);
      const line: string[] = [];
      for (const which of order) {
        const s = which === "on" ? on : off;
        const c0 = cpuMs(s.proc.pid);
        const res = await runLoad(s.port, 64, per, false);
        const perHs = (cpuMs(s.proc.pid) - c0) / Number(res.stats.extra?.n ?? per);
        cpu[which].push(perHs);
        line.push(
          `events ${which}: ${perHs.toFixed(3)} ms CPU/handshake, ${res.stats.extra?.["handshakes/s"]}/s, errors ${res.errors}`,
        );
      }
      console.log(
        `round ${r + 1} (load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}): ${line.join("; ")}`,
      );
    }
    const us = await recordingCost(50_000);
    console.log(
      `recording step alone: ${us.toFixed(2)} µs of CPU per handshake (two events, batch writes included)`,
    );
    report(
      "kbs-events",
      summarize("server CPU per handshake, events on", cpu.on),
      summarize("server CPU per handshake, events off", cpu.off),
      "same build, same config, alternating rounds; 1.00x = no cost",
    );
  } finally {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
