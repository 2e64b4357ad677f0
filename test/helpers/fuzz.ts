/**
 * Deterministic mutation fuzzing for parsers of untrusted bytes: a seeded PRNG, byte mutators
 * (bit flips, truncation, length-field inflation, splicing) and a driver that checks the
 * property "returns a value or throws one of the allowed coded errors, within a hang bound".
 * Every run is reproducible from its seed; a failure message names the seed and iteration.
 */
import type { CocoError } from "../../src/errors.js";

/** A small, fast, seeded PRNG (mulberry32): the same seed gives the same sequence. */
export class Rng {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** A 32-bit unsigned integer. */
  u32(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  /** One element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

const INTERESTING_U32 = [
  0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
  0xfffffffe, 0xffffffff,
];

/** Flips 1–4 random bits. */
export function bitFlip(rng: Rng, input: Uint8Array): Uint8Array {
  const out = Uint8Array.from(input);
  if (out.length === 0) return out;
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const i = rng.int(out.length);
    out[i] = out[i]! ^ (1 << rng.int(8));
  }
  return out;
}

/** Overwrites 1–8 random bytes with random values. */
export function byteSet(rng: Rng, input: Uint8Array): Uint8Array {
  const out = Uint8Array.from(input);
  if (out.length === 0) return out;
  const n = 1 + rng.int(8);
  for (let k = 0; k < n; k++) out[rng.int(out.length)] = rng.u32() & 0xff;
  return out;
}

/** Cuts the input at a random point, or at one of `boundaries` when given. */
export function truncate(
  rng: Rng,
  input: Uint8Array,
  boundaries: readonly number[] = [],
): Uint8Array {
  const cuts = boundaries.filter((b) => b >= 0 && b < input.length);
  let at: number;
  if (cuts.length > 0 && rng.chance(0.6)) {
    const b = rng.pick(cuts);
    at = Math.max(0, b + rng.pick([-1, 0, 1]));
  } else at = rng.int(input.length + 1);
  return input.slice(0, at);
}

/**
 * Writes an interesting 16/32/64-bit little- or big-endian value (0, 0xffffffff, 0x80000000...)
 * at a random offset or one of `offsets` (known length fields).
 */
export function inflate(rng: Rng, input: Uint8Array, offsets: readonly number[] = []): Uint8Array {
  const out = Uint8Array.from(input);
  if (out.length < 2) return out;
  const width = rng.pick([2, 4, 4, 8]);
  const valid = offsets.filter((o) => o + width <= out.length);
  const off = valid.length > 0 && rng.chance(0.7) ? rng.pick(valid) : rng.int(out.length - 1);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const v = rng.pick(INTERESTING_U32);
  const le = rng.chance(0.7);
  if (width === 2 && off + 2 <= out.length) dv.setUint16(off, v & 0xffff, le);
  else if (width === 4 && off + 4 <= out.length) dv.setUint32(off, v, le);
  else if (width === 8 && off + 8 <= out.length) {
    dv.setUint32(off + (le ? 0 : 4), v, le);
    dv.setUint32(off + (le ? 4 : 0), rng.chance(0.5) ? 0 : 0xffffffff, le);
  } else out[off] = 0xff;
  return out;
}

/** Copies a random slice of `donor` (or the input itself) over, into or in place of a region. */
export function splice(rng: Rng, input: Uint8Array, donor: Uint8Array = input): Uint8Array {
  if (donor.length === 0) return Uint8Array.from(input);
  const from = rng.int(donor.length);
  const len = 1 + rng.int(Math.min(256, donor.length - from));
  const piece = donor.subarray(from, from + len);
  const at = rng.int(input.length + 1);
  const mode = rng.int(3);
  if (mode === 0) {
    // insert
    const out = new Uint8Array(input.length + piece.length);
    out.set(input.subarray(0, at), 0);
    out.set(piece, at);
    out.set(input.subarray(at), at + piece.length);
    return out;
  }
  if (mode === 1) {
    // delete a region
    const end = Math.min(input.length, at + len);
    const out = new Uint8Array(input.length - (end - at));
    out.set(input.subarray(0, at), 0);
    out.set(input.subarray(end), at);
    return out;
  }
  // overwrite
  const out = Uint8Array.from(input);
  out.set(piece.subarray(0, Math.max(0, out.length - at)), at);
  return out;
}

/** Options for {@link mutate}: known length-field offsets and structure boundaries. */
export interface MutateHints {
  lengthOffsets?: readonly number[];
  boundaries?: readonly number[];
  donors?: readonly Uint8Array[];
}

/** Applies 1–3 random mutations from the full set. */
export function mutate(rng: Rng, input: Uint8Array, hints: MutateHints = {}): Uint8Array {
  let out = input;
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    switch (rng.int(6)) {
      case 0:
        out = bitFlip(rng, out);
        break;
      case 1:
        out = byteSet(rng, out);
        break;
      case 2:
        out = truncate(rng, out, hints.boundaries);
        break;
      case 3:
      case 4:
        out = inflate(rng, out, hints.lengthOffsets);
        break;
      default:
        out = splice(
          rng,
          out,
          hints.donors && hints.donors.length > 0 && rng.chance(0.5) ? rng.pick(hints.donors) : out,
        );
    }
  }
  return out;
}

/** Mutates a JSON-like value: swaps types, drops keys, injects huge/odd values. */
export function mutateJson(rng: Rng, v: unknown, depth = 0): unknown {
  const odd: unknown[] = [
    null,
    true,
    0,
    -1,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    "",
    "x".repeat(1 + rng.int(64)),
    "\u0000",
    "../../etc/passwd",
    [],
    {},
    { __proto__: { polluted: true } },
    "AAAA",
    "!!notbase64!!",
    "ffff",
  ];
  if (depth > 8 || rng.chance(0.15)) return rng.pick(odd);
  if (Array.isArray(v)) {
    const out = v.map((x) => (rng.chance(0.3) ? mutateJson(rng, x, depth + 1) : x));
    if (out.length > 0 && rng.chance(0.2)) out.splice(rng.int(out.length), 1);
    if (rng.chance(0.1)) out.push(rng.pick(odd));
    return out;
  }
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (rng.chance(0.1)) continue; // drop
      out[k] = rng.chance(0.35) ? mutateJson(rng, x, depth + 1) : x;
    }
    if (rng.chance(0.1)) out[rng.pick(["extra", "__proto__", "constructor"])] = rng.pick(odd);
    return out;
  }
  if (typeof v === "string") {
    if (rng.chance(0.5)) {
      const b = Buffer.from(v, "utf8");
      return Buffer.from(mutate(rng, b)).toString("utf8");
    }
    return rng.pick(odd);
  }
  return rng.pick(odd);
}

/** What one fuzz run found: counts per outcome and the slowest input. */
export interface FuzzStats {
  iterations: number;
  ok: number;
  coded: Map<string, number>;
  slowestMs: number;
}

/**
 * Per-input hang bound, in CPU time of this process (user + system), not wall time: a single
 * input that burns this much CPU is a hang or a super-linear blow-up, not slowness. CPU time
 * does not grow while the process waits for a core, so a loaded machine cannot trip it; an
 * input that never returns is caught by the test runner's own timeout.
 */
export const HANG_MS = 5000;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Per-input bound on retained buffer memory growth (an allocation sized by a length field). */
export const MEMORY_BOUND = 256 * 1024 * 1024;

/**
 * Runs `iterations` inputs made by `gen` through `target` and asserts the property: each call
 * returns (or resolves) or throws an instance of `errorClass` carrying a code; any other
 * exception, or a call over {@link HANG_MS}, fails with the seed, iteration and input.
 */
export async function fuzz<T>(opts: {
  name: string;
  seed: number;
  iterations: number;
  gen: (rng: Rng, i: number) => T;
  target: (input: T) => unknown;
  errorClass: abstract new (...args: never[]) => CocoError;
  /** Also accepts these errors (e.g. errno-coded system errors a caller classifies). */
  accept?: (err: unknown) => boolean;
  /** Shows a failing input in the failure message (defaults to a hex prefix for bytes). */
  show?: (input: T) => string;
}): Promise<FuzzStats> {
  const rng = new Rng(opts.seed);
  const stats: FuzzStats = { iterations: 0, ok: 0, coded: new Map(), slowestMs: 0 };
  for (let i = 0; i < opts.iterations; i++) {
    const input = opts.gen(rng, i);
    const mem0 = process.memoryUsage().arrayBuffers;
    const t0 = cpuMs();
    let err: unknown;
    let threw = false;
    try {
      await opts.target(input);
    } catch (e) {
      threw = true;
      err = e;
    }
    const ms = cpuMs() - t0;
    stats.iterations++;
    if (ms > stats.slowestMs) stats.slowestMs = ms;
    const where = () =>
      `${opts.name} seed=${opts.seed} iteration=${i}: ${(opts.show ?? defaultShow)(input)}`;
    if (ms > HANG_MS)
      throw new Error(`${where()} used ${ms.toFixed(0)} ms of CPU (hang bound ${HANG_MS} ms)`);
    const grew = process.memoryUsage().arrayBuffers - mem0;
    if (grew > MEMORY_BOUND) {
      throw new Error(`${where()} grew buffer memory by ${(grew / 2 ** 20).toFixed(0)} MiB`);
    }
    if (!threw) {
      stats.ok++;
      continue;
    }
    if (opts.accept?.(err)) {
      const code = `accepted:${(err as { code?: string })?.code ?? "?"}`;
      stats.coded.set(code, (stats.coded.get(code) ?? 0) + 1);
      continue;
    }
    if (!(err instanceof opts.errorClass) || typeof (err as CocoError).code !== "string") {
      const e = err as Error;
      const wrapped = new Error(
        `${where()} threw an uncoded ${e?.constructor?.name ?? typeof err}: ${e?.message ?? String(err)}\n${(e?.stack ?? "").split("\n").slice(1, 6).join("\n")}`,
      );
      (wrapped as Error & { cause: unknown }).cause = err;
      throw wrapped;
    }
    const code = (err as CocoError).code;
    stats.coded.set(code, (stats.coded.get(code) ?? 0) + 1);
  }
  return stats;
}

function defaultShow(input: unknown): string {
  if (input instanceof Uint8Array) {
    return `${input.length} bytes, head ${Buffer.from(input.subarray(0, 64)).toString("hex")}`;
  }
  try {
    return JSON.stringify(input)?.slice(0, 300) ?? String(input);
  } catch {
    return String(input).slice(0, 300);
  }
}

/** A one-line summary for test diagnostics. */
export function describeStats(s: FuzzStats): string {
  const codes = [...s.coded.entries()].map(([k, v]) => `${k}=${v}`).join(" ");
  return `${s.iterations} inputs: ${s.ok} parsed, ${codes}; slowest ${s.slowestMs.toFixed(1)} ms`;
}
