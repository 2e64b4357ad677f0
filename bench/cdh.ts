/**
 * `npm run bench -- cdh [calls]`: CDH GetResource over ttrpc with our token cache, against the
 * same CDH asking AA for a new token on every call (upstream's behaviour: every GetResource is
 * a full RCAR handshake in AA). Both run in one stack: Trustee, AA and two CDH processes.
 * The limit for a cached call that must still reach Trustee (so a revoked secret stops being
 * released) is one bare loopback HTTP round trip of the same size (the size of a full 200 JWE
 * answer), measured in the same run. A cached CDH revalidates the resource it holds: from its
 * second call on, Trustee authorizes each GET in full and answers 304 without a JWE; Trustee's
 * share is that conditional GET sent straight to Trustee.
 * The cached call, Trustee's share (the same GET straight to Trustee) and the bare round trip
 * are timed interleaved, one call of each per round in a rotating order, after the same
 * warm-up: on this 2-core VM a call's time depends on how fast an idle vCPU wakes, which
 * drifts over seconds, so timing them one after the other compared different machines.
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

/** Median, p99 and calls/s of `samples` (ms) taken over `totalS` seconds. */
function statsOf(name: string, samples: number[], totalS: number): Stats {
  const stats = summarize(name, samples);
  stats.extra = {
    calls_per_s: Number((samples.length / totalS).toFixed(1)),
    p50_ms: Number(percentile(samples, 50).toFixed(3)),
    p99_ms: Number(percentile(samples, 99).toFixed(3)),
  };
  return stats;
}

/** Sequential calls of `once` after 3 warm-up calls: median, p99 and calls/s. */
async function timeCalls(name: string, calls: number, once: () => Promise<void>): Promise<Stats> {
  for (let i = 0; i < 3; i++) await once();
  const samples: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const s = process.hrtime.bigint();
    await once();
    samples.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  return statsOf(name, samples, Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * `calls` rounds of one call of each of `fns`, in an order that rotates every round, after
 * `warmup` untimed rounds; returns each one's stats (calls/s from its own time).
 */
async function timeInterleaved(
  fns: ReadonlyArray<{ name: string; once: () => Promise<void> }>,
  calls: number,
  warmup: number,
): Promise<Stats[]> {
  for (let i = 0; i < warmup; i++) for (const f of fns) await f.once();
  const samples = fns.map(() => [] as number[]);
  for (let i = 0; i < calls; i++) {
    for (let j = 0; j < fns.length; j++) {
      const k = (i + j) % fns.length;
      const s = process.hrtime.bigint();
      await fns[k]!.once();
      samples[k]!.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  }
  return fns.map((f, k) => {
    const v = samples[k]!;
    return statsOf(f.name, v, v.reduce((a, b) => a + b, 0) / 1000);
  });
}

/**
 * A GET with these headers over a keep-alive agent; resolves with the body length and ETag.
 * `status` is the answer expected (200, or 304 for a conditional GET).
 */
function get(
  agent: Agent,
  url: URL,
  headers: Record<string, string>,
  status = 200,
): Promise<{ size: number; etag: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      let n = 0;
      res.on("data", (c: Buffer) => {
        n += c.length;
      });
      res.on("end", () =>
        res.statusCode === status
          ? resolve({ size: n, etag: res.headers.etag })
          : reject(new Error(`GET ${url}: ${res.statusCode}`)),
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

/** One CDH GetResource over ttrpc. */
function getResourceCall(c: TtrpcClient): () => Promise<void> {
  return async () => {
    await c.call(
      CDH_SERVICES.getResource,
      "GetResource",
      CdhMessages.GetResourceRequest,
      CdhMessages.GetResourceResponse,
      { ResourcePath: "kbs:///default/bench/key" },
    );
  };
}

/** Untimed rounds before the interleaved measurement (JIT and caches warm in every process). */
const WARMUP = 50;

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const calls = Number(args[0] ?? "1000");
  printHeader("cdh");
  const stack = await startGuestStack({
    cdhs: { cached: { tokenCache: true }, upstream: { tokenCache: false } },
  });
  const clients: { close(): void }[] = [];
  let bare: Awaited<ReturnType<typeof startProcess>> | undefined;
  try {
    await stack.putResource("default/bench/key", Buffer.alloc(64, 0x5a));
    const upstreamClient = new TtrpcClient(stack.cdhSockets.upstream as string, {
      timeoutMs: 60_000,
    });
    clients.push(upstreamClient);
    const peer = await timeCalls(
      "GetResource, RCAR per call (upstream)",
      Math.max(20, Math.floor(calls / 10)),
      getResourceCall(upstreamClient),
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
    clients.push({ close: () => agent.destroy() });
    const resUrl = new URL(`${stack.kbsUrl}/kbs/v0/resource/default/bench/key`);
    const { size, etag } = await get(agent, resUrl, headers);
    // What the cached CDH sends from its second call on: the same GET, conditional on the tag
    // Trustee gave this token (Trustee authorizes it in full and answers 304 without a JWE).
    // (A Trustee without ETags, e.g. an older build, gets the plain GET: its answer is a 200.)
    const conditional = etag !== undefined ? { ...headers, "if-none-match": etag } : headers;
    const directStatus = etag !== undefined ? 304 : 200;
    const port = await freePort();
    bare = await startProcess({
      name: "bare http server",
      command: process.execPath,
      args: ["-e", BARE_SERVER, String(port), String(size)],
      ready: { kind: "http", url: `http://127.0.0.1:${port}/` },
    });
    const bareAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    clients.push({ close: () => bareAgent.destroy() });
    const bareUrl = new URL(`http://127.0.0.1:${port}/kbs/v0/resource/default/bench/key`);
    const cached = new TtrpcClient(stack.cdhSockets.cached as string, { timeoutMs: 60_000 });
    clients.push(cached);

    const [ours, direct, limit] = (await timeInterleaved(
      [
        { name: "GetResource, token cache (coco-ts)", once: getResourceCall(cached) },
        {
          name: `${etag !== undefined ? "conditional " : ""}GET straight to Trustee (${directStatus})`,
          once: async () => {
            await get(agent, resUrl, conditional, directStatus);
          },
        },
        {
          name: "bare loopback HTTP round trip",
          once: async () => {
            await get(bareAgent, bareUrl, headers);
          },
        },
      ],
      calls,
      WARMUP,
    )) as [Stats, Stats, Stats];
    console.log(
      `# ${calls} rounds (after ${WARMUP} warm-up rounds) of one cached call, one GET straight to Trustee and one bare round trip, interleaved; ${peer.runs} per-call-RCAR calls; sequential, 64-byte resource, loopback; load ${loadavg()[0]!.toFixed(2)}`,
    );
    report(
      "cdh",
      ours,
      peer,
      `ours p99 ${ours.extra?.p99_ms} ms; peer p99 ${peer.extra?.p99_ms} ms`,
    );
    console.log(
      `# limit: request with a ${headers.authorization.length}-byte Authorization header, ${size}-byte response`,
    );
    report(
      "cdh-trustee",
      direct,
      limit,
      "Trustee's share: the CDH's conditional GET straight to Trustee (full authorization, 304)",
    );
    report(
      "cdh-limit",
      ours,
      limit,
      `goal: ours within 2x of the bare round trip (ratio >= 0.5), p99 < 3 ms (ours ${ours.extra?.p99_ms} ms)`,
    );
  } finally {
    for (const c of clients) c.close();
    await bare?.stop();
    await stack.stop();
  }
}
