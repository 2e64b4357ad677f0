/**
 * Shared benchmark harness: a machine header, repeated timing with median/min/max, and a ratio
 * against a peer measured in the same run. Results also go as JSON lines to bench/results/.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Timing statistics over repeated runs, in milliseconds. */
export interface Stats {
  name: string;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Extra figures a benchmark wants to report (throughput, p99, bytes, ...). */
  extra?: Record<string, number | string>;
}

/** Options for {@link measure}. */
export interface MeasureOptions {
  runs?: number;
  warmup?: number;
  /** Run before each timed iteration, outside the timing (clean output dirs, ...). */
  before?: () => Promise<void> | void;
}

const resultsDir = join(fileURLToPath(new URL("../../bench/results", import.meta.url)));

/** Prints the machine header every benchmark starts with. */
export function printHeader(bench: string): void {
  const cpu = cpus();
  console.log(`# bench ${bench}`);
  console.log(`# cpu: ${cpu[0]?.model ?? "unknown"} x ${cpu.length}`);
  console.log(`# node: ${process.version}  date: ${new Date().toISOString()}`);
}

/** Times `fn` `runs` times after `warmup` untimed runs. */
export async function measure(
  name: string,
  fn: () => Promise<unknown> | unknown,
  opts: MeasureOptions = {},
): Promise<Stats> {
  const runs = opts.runs ?? 5;
  for (let i = 0; i < (opts.warmup ?? 1); i++) {
    await opts.before?.();
    await fn();
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    await opts.before?.();
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return summarize(name, times);
}

/** Builds {@link Stats} from raw samples in milliseconds. */
export function summarize(name: string, samplesMs: readonly number[]): Stats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? sorted[mid]! : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return {
    name,
    runs: sorted.length,
    medianMs: median,
    minMs: sorted[0] ?? 0,
    maxMs: sorted[sorted.length - 1] ?? 0,
  };
}

/** The p-th percentile (0..100) of samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function fmt(s: Stats): string {
  const extra = s.extra
    ? `  ${Object.entries(s.extra)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}`
    : "";
  return `${s.name.padEnd(40)} median ${s.medianMs.toFixed(3)} ms  min ${s.minMs.toFixed(3)}  max ${s.maxMs.toFixed(3)}  (n=${s.runs})${extra}`;
}

/**
 * Prints ours and the peer, the ratio peer/ours (above 1 means we are faster), and appends a
 * JSON line to bench/results/<bench>.jsonl (and to `$COCO_BENCH_JSONL` when set).
 */
export function report(bench: string, ours: Stats, peer: Stats, note?: string): number {
  const ratio = peer.medianMs / ours.medianMs;
  console.log(fmt(ours));
  console.log(fmt(peer));
  console.log(
    `ratio ${peer.name} / ${ours.name} = ${ratio.toFixed(2)}x ${ratio >= 1 ? "(ours faster)" : "(peer faster)"}${note ? `  ${note}` : ""}`,
  );
  mkdirSync(resultsDir, { recursive: true });
  const line = `${JSON.stringify({ bench, date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, ours, peer, ratio, note })}\n`;
  appendFileSync(join(resultsDir, `${bench}.jsonl`), line);
  // `npm run bench -- NAME --node PATH` collects each runtime's results here (bench/run.ts).
  if (process.env.COCO_BENCH_JSONL) appendFileSync(process.env.COCO_BENCH_JSONL, line);
  return ratio;
}
