/**
 * `npm run bench -- cdh [calls]`: CDH GetResource over ttrpc with our token cache, against the
 * same CDH asking AA for a new token on every call (upstream's behaviour: every GetResource is
 * a full RCAR handshake in AA). Both run in one stack: Trustee, AA and two CDH processes.
 * The limit for a cached call that must still reach Trustee (so a revoked secret stops being
 * released) is one bare loopback HTTP round trip of the same size, measured in the same run.
 */

import { Agent, request } from "node:http";
import { loadavg } from "node:os";
import { startGuestStack } from "../demo/guest-stack.js";
import {
  AA_SERVICE,
  AaMessages,
  CDH_SERVICES,
  CdhMessages,
  TtrpcClient,
} from "../src/protocol/ttrpc/index.js";
import { freePort } from "../test/helpers/ports.js";
import { startProcess } from "../test/helpers/process.js";
import { percentile, printHeader, report, type Stats, summarize } from "./harness.js";

/** Sequential calls of `once`: median, p99 and calls/s. */
async function timeCalls(name: string, calls: number, once: () => Promise<void>): Promise<Stats> {
  for (let i = 0; i < 3; i++) await once();
  const samples: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const s = process.hrtime.bigint();
    await once();
    samples.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  const totalS = Number(process.hrtime.bigint() - t0) / 1e9;
  const stats = summarize(name, samples);
  stats.extra = {
    calls_per_s: Number((calls / totalS).toFixed(1)),
    p50_ms: Number(percentile(samples, 50).toFixed(3)),
    p99_ms: Number(percentile(samples, 99).toFixed(3)),
  };
  return stats;
}

/** A GET with these headers over a keep-alive agent; resolves with the body length. */
function get(agent: Agent, url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      let n = 0;
      res.on("data", (c: Buffer) => {
        n += c.length;
      });
      res.on("end", () =>
        res.statusCode === 200 ? resolve(n) : reject(new Error(`GET ${url}: ${res.statusCode}`)),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * The limit of a cached GetResource that still asks Trustee every time: one bare loopback HTTP
 * round trip with the same request headers and response size, against a node:http server in
 * its own process that answers with canned bytes and does no work.
 */
const BARE_SERVER = `
const http = require("node:http");
const body = Buffer.alloc(Number(process.argv[2]), 0x41);
http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) });
    res.end(body);
  });
}).listen(Number(process.argv[1]), "127.0.0.1");
`;

async function measureCalls(name: string, socket: string, calls: number): Promise<Stats> {
  const c = new TtrpcClient(socket, { timeoutMs: 60_000 });
  try {
    return await timeCalls(name, calls, async () => {
      await c.call(
        CDH_SERVICES.getResource,
        "GetResource",
        CdhMessages.GetResourceRequest,
        CdhMessages.GetResourceResponse,
        { ResourcePath: "kbs:///default/bench/key" },
      );
    });
  } finally {
    c.close();
  }
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const calls = Number(args[0] ?? "300");
  printHeader("cdh");
  const stack = await startGuestStack({
    cdhs: { cached: { tokenCache: true }, upstream: { tokenCache: false } },
  });
  try {
    await stack.putResource("default/bench/key", Buffer.alloc(64, 0x5a));
    const ours = await measureCalls(
      "GetResource, token cache (coco-ts)",
      stack.cdhSockets.cached as string,
      calls,
    );
    const peer = await measureCalls(
      "GetResource, RCAR per call (upstream)",
      stack.cdhSockets.upstream as string,
      Math.max(20, Math.floor(calls / 10)),
    );
    console.log(
      `# ${calls} cached calls, ${peer.runs} per-call-RCAR calls, sequential, 64-byte resource, loopback; load ${loadavg()[0]!.toFixed(2)}`,
    );
    report(
      "cdh",
      ours,
      peer,
      `ours p99 ${ours.extra?.p99_ms} ms; peer p99 ${peer.extra?.p99_ms} ms`,
    );

    // The limit: the same request and response sizes as the resource GET the CDH makes, once
    // straight to Trustee (its share) and once to a server that does nothing (the bare trip).
    const aa = new TtrpcClient(stack.aaSocket, { timeoutMs: 60_000 });
    const tokenJson = await aa.call(
      AA_SERVICE,
      "GetToken",
      AaMessages.GetTokenRequest,
      AaMessages.GetTokenResponse,
      { TokenType: "kbs" },
    );
    aa.close();
    const token = (JSON.parse(Buffer.from(tokenJson.Token).toString()) as { token: string }).token;
    const headers = {
      authorization: `Bearer ${token}`,
      "user-agent": "attestation-agent-kbs-client/0.1.0",
    };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const resUrl = new URL(`${stack.kbsUrl}/kbs/v0/resource/default/bench/key`);
    const size = await get(agent, resUrl, headers);
    const direct = await timeCalls("resource GET straight to Trustee", calls, async () => {
      await get(agent, resUrl, headers);
    });
    agent.destroy();
    const port = await freePort();
    const bare = await startProcess({
      name: "bare http server",
      command: process.execPath,
      args: ["-e", BARE_SERVER, String(port), String(size)],
      ready: { kind: "http", url: `http://127.0.0.1:${port}/` },
    });
    try {
      const bareAgent = new Agent({ keepAlive: true, maxSockets: 1 });
      const bareUrl = new URL(`http://127.0.0.1:${port}/kbs/v0/resource/default/bench/key`);
      const limit = await timeCalls("bare loopback HTTP round trip", calls, async () => {
        await get(bareAgent, bareUrl, headers);
      });
      bareAgent.destroy();
      console.log(
        `# limit: request with a ${headers.authorization.length}-byte Authorization header, ${size}-byte response; load ${loadavg()[0]!.toFixed(2)}`,
      );
      report("cdh-trustee", direct, limit, "Trustee's share: the same GET straight to Trustee");
      report(
        "cdh-limit",
        ours,
        limit,
        `goal: ours within 2x of the bare round trip (ratio >= 0.5), p99 < 3 ms (ours ${ours.extra?.p99_ms} ms)`,
      );
    } finally {
      await bare.stop();
    }
  } finally {
    await stack.stop();
  }
}
