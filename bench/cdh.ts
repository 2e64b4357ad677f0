/**
 * `npm run bench -- cdh [calls]`: CDH GetResource over ttrpc with our token cache, against the
 * same CDH asking AA for a new token on every call (upstream's behaviour: every GetResource is
 * a full RCAR handshake in AA). Both run in one stack: Trustee, AA and two CDH processes.
 */

import { startGuestStack } from "../demo/guest-stack.js";
import { CDH_SERVICES, CdhMessages, TtrpcClient } from "../src/protocol/ttrpc/index.js";
import { percentile, printHeader, report, type Stats, summarize } from "./harness.js";

async function measureCalls(name: string, socket: string, calls: number): Promise<Stats> {
  const c = new TtrpcClient(socket, { timeoutMs: 60_000 });
  const get = () =>
    c.call(
      CDH_SERVICES.getResource,
      "GetResource",
      CdhMessages.GetResourceRequest,
      CdhMessages.GetResourceResponse,
      {
        ResourcePath: "kbs:///default/bench/key",
      },
    );
  for (let i = 0; i < 3; i++) await get();
  const samples: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const s = process.hrtime.bigint();
    await get();
    samples.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  const totalS = Number(process.hrtime.bigint() - t0) / 1e9;
  c.close();
  const stats = summarize(name, samples);
  stats.extra = {
    calls_per_s: Number((calls / totalS).toFixed(1)),
    p50_ms: Number(percentile(samples, 50).toFixed(3)),
    p99_ms: Number(percentile(samples, 99).toFixed(3)),
  };
  return stats;
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
      `# ${calls} cached calls, ${peer.runs} per-call-RCAR calls, sequential, 64-byte resource, loopback`,
    );
    report(
      "cdh",
      ours,
      peer,
      `ours p99 ${ours.extra?.p99_ms} ms; peer p99 ${peer.extra?.p99_ms} ms`,
    );
  } finally {
    await stack.stop();
  }
}
