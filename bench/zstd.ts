/**
 * `npm run bench -- zstd [--runs N] [--mib SIZE]`: zstd layer decompression as a pull does it
 * (the frame guard and libzstd through node:zlib, then sha256 of the output for the diff_id),
 * against the reference `zstd -d` piped into `sha256sum` in the same run, on the pull
 * benchmark's ~200 MiB of layers compressed by the `zstd` tool at level 3.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createDecompressStages } from "../src/oci/layer/decompress.js";
import { printHeader, report, summarize } from "./harness.js";
import { makeLayers } from "./pull.js";

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const runs = Number(args[args.indexOf("--runs") + 1] ?? 5) || 5;
  const mib = Number(args[args.indexOf("--mib") + 1] ?? 200) || 200;
  printHeader("zstd");
  if (spawnSync("zstd", ["--version"]).status !== 0)
    throw new Error("the zstd tool is not installed");
  const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "coco-bench-zstd-"));
  try {
    const tar = Buffer.concat(await makeLayers(mib));
    const z = spawnSync("zstd", ["-q", "-c", "-3"], { input: tar, maxBuffer: 2 ** 31 });
    if (z.status !== 0) throw new Error(`zstd failed: ${z.stderr}`);
    const comp = z.stdout;
    const file = join(dir, "layer.tar.zst");
    writeFileSync(file, comp);
    const want = createHash("sha256").update(tar).digest("hex");
    console.log(
      `# ${(tar.length / 1048576).toFixed(0)} MiB tar → ${(comp.length / 1048576).toFixed(0)} MiB zstd -3`,
    );
    const ours = async (): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const h = createHash("sha256");
      const chunks = function* () {
        for (let i = 0; i < comp.length; i += 1 << 20) yield comp.subarray(i, i + (1 << 20));
      };
      const sink = new Writable({
        write(c: Buffer, _e, cb) {
          h.update(c);
          cb();
        },
      });
      await pipeline([Readable.from(chunks()), ...createDecompressStages("zstd"), sink]);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (h.digest("hex") !== want) throw new Error("our zstd output differs from the input");
      return ms;
    };
    const peer = (): number => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync("sh", ["-c", 'zstd -d -q -c "$1" | sha256sum', "sh", file], {
        encoding: "utf8",
      });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0 || !r.stdout.startsWith(want)) throw new Error("zstd -d output differs");
      return ms;
    };
    const o: number[] = [];
    const p: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const a = await ours();
      const b = peer();
      if (i > 0) {
        o.push(a);
        p.push(b);
      }
    }
    const s = summarize("ours zstd layer (node:zlib) + sha256", o);
    s.extra = { MiBps: (tar.length / 1048576 / (s.medianMs / 1000)).toFixed(0) };
    report("zstd", s, summarize("zstd -d | sha256sum", p));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
