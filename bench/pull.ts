/**
 * `npm run bench -- pull [--runs N] [--mib SIZE] [--dir DIR] [--concurrency N] [--rt]`: pulls a ~200 MiB, 3-layer image (plain and
 * encrypted) from a local CNCF registry. Ours = one streaming pass per layer (download → digest
 * → decrypt → gunzip → diff_id → unpack). Peer = `skopeo copy` to an OCI layout then
 * `umoci unpack`, in the same run. Also the machine's limit: gunzip + sha256 of the same bytes
 * in one pass, and our peak RSS (sampled) to show memory independent of layer size.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { openImageDestination } from "../src/oci/destination.js";
import { encryptImage } from "../src/oci/encrypt.js";
import { acceptAnything, pullImage } from "../src/oci/pull.js";
import { createLayoutSource } from "../src/oci/source.js";
import { buildTar, runTool, type TestEntry, writeTestImage } from "../src/oci/testing.js";
import { openImageSource, parseImageLocation } from "../src/oci/transport.js";
import { startRegistry } from "../test/helpers/registry.js";
import { printHeader, report, summarize } from "./harness.js";

/** Deterministic bytes: xorshift32 for random data, a word list for compressible text. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
const WORDS =
  "the quick brown fox jumps over lazy dog confidential container image layer trustee guest attestation key broker".split(
    " ",
  );
function text(n: number, r: () => number): Buffer {
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const w = WORDS[r() % WORDS.length]!;
    parts.push(w);
    len += w.length + 1;
  }
  return Buffer.from(parts.join(" ")).subarray(0, n);
}
function random(n: number, r: () => number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE(r(), i);
  return b;
}

/** The benchmark image: three deterministic layers totalling about `totalMiB` uncompressed. */
export async function makeLayers(totalMiB: number): Promise<Buffer[]> {
  const r = prng(42);
  const scale = totalMiB / 200;
  // Layer 1: ~9,000 small files (a distro base); layer 2: medium binaries; layer 3: a few large files.
  const l1: TestEntry[] = [];
  for (let d = 0; d < 90; d++) {
    l1.push({ name: `usr/lib/pkg${d}/`, type: "directory" });
    for (let f = 0; f < Math.round(100 * scale); f++) {
      const size = 1024 + (r() % 12_000);
      l1.push({
        name: `usr/lib/pkg${d}/file${f}.txt`,
        content: f % 3 === 0 ? random(size, r) : text(size, r),
        mode: 0o644,
      });
    }
    l1.push({ name: `usr/lib/pkg${d}/link`, type: "symlink", linkname: "file0.txt" });
  }
  const l2: TestEntry[] = [{ name: "opt/app/", type: "directory" }];
  for (let f = 0; f < Math.round(220 * scale); f++) {
    const size = 256 * 1024;
    l2.push({
      name: `opt/app/lib${f}.so`,
      content: Buffer.concat([random(size / 2, r), text(size / 2, r)]),
      mode: 0o755,
    });
  }
  const l3: TestEntry[] = [{ name: "data/", type: "directory" }];
  for (let f = 0; f < 2; f++) {
    const size = Math.round(40 * 1024 * 1024 * scale);
    l3.push({
      name: `data/model${f}.bin`,
      content: Buffer.concat([random(size / 2, r), text(size / 2, r)]),
    });
  }
  return Promise.all([buildTar(l1), buildTar(l2), buildTar(l3)]);
}

/** CPU time (user + system) of a process, in ms (100 Hz ticks of /proc/<pid>/stat). */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** CPU time of this process's reaped children (cutime + cstime), in ms. */
function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** The scheduling policy this process runs under (the bench may be run under `chrt`). */
function schedPolicy(): string {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const policy = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38]);
  return ["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "", "SCHED_IDLE"][policy] ?? "?";
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const runs = Number(args[args.indexOf("--runs") + 1] ?? 3) || 3;
  const mib = Number(args[args.indexOf("--mib") + 1] ?? 200) || 200;
  // Layers fetched ahead (default 3, as upstream's max_concurrent_layer_downloads_per_image).
  const rt = args.includes("--rt");
  const concurrency = args.includes("--concurrency")
    ? Number(args[args.indexOf("--concurrency") + 1]) || 3
    : 3;
  printHeader("pull");
  // A guest unpacks into memory (/run is tmpfs in the TEE), so both sides work on tmpfs when
  // the machine has one; that also keeps disk noise from other jobs out of the comparison.
  const at = args.includes("--dir")
    ? args[args.indexOf("--dir") + 1]!
    : existsSync("/dev/shm")
      ? "/dev/shm"
      : tmpdir();
  const dir = mkdtempSync(join(at, "coco-bench-pull-"));
  console.log(
    `# work dir: ${dir}; layers fetched ahead: ${concurrency - 1}; ${rt ? "timed calls SCHED_FIFO (--rt)" : schedPolicy()}; load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  const reg = await startRegistry("plain");
  // --rt: each timed call (and the registry serving it) runs SCHED_FIFO, so the neighbours of
  // this shared machine do not decide the wall times; a watchdog demotes us after 90 s should
  // a timed call hang. Needs root; everything else (image generation) runs as usual.
  const realtime = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (!rt) return fn();
    const pids = [process.pid, reg.process.pid];
    const demote = () => {
      for (const pid of pids) spawnSync("chrt", ["-a", "-o", "-p", "0", String(pid)]);
    };
    const watchdog = spawn(
      "sh",
      ["-c", `sleep 90; ${pids.map((p) => `chrt -a -o -p 0 ${p}`).join("; ")}`],
      { stdio: "ignore" },
    );
    for (const pid of pids) {
      const r = spawnSync("chrt", ["-a", "-f", "-p", "10", String(pid)]);
      if (r.status !== 0) throw new Error(`--rt: chrt failed (root needed): ${r.stderr}`);
    }
    try {
      return await fn();
    } finally {
      demote();
      watchdog.kill();
    }
  };
  try {
    // Only the sizes are kept: the timed pulls run in this process, and a process that holds
    // the image's tars (1 GiB of Buffers with --mib 1024) makes V8 collect far more often
    // than a guest's pulling process would (a 1 GiB bench took 15x the limit's CPU that way).
    const tarSizes = await (async () => {
      const layers = await makeLayers(mib);
      writeTestImage(
        join(dir, "layout"),
        "plain",
        layers.map((tar) => ({ tar, compression: "gzip" as const })),
      );
      return layers.map((l) => l.length);
    })();
    const tarBytes = tarSizes.reduce((a, n) => a + n, 0);
    const layout = join(dir, "layout");
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(join(dir, "priv.pem"), privateKey.export({ type: "pkcs1", format: "pem" }), {
      mode: 0o600,
    });
    const enc = openImageDestination(parseImageLocation(`oci:${layout}:enc`));
    await encryptImage(createLayoutSource(layout), "plain", enc.dest, "enc", { jwe: [publicKey] });
    for (const tag of ["plain", "enc"]) {
      const r = await runTool(
        "skopeo",
        [
          "copy",
          "--dest-tls-verify=false",
          `oci:${layout}:${tag}`,
          `docker://${reg.host}/bench/img:${tag}`,
        ],
        { timeoutMs: 600_000 },
      );
      if (r.status !== 0) throw new Error(`skopeo push failed: ${r.stderr}`);
    }
    console.log(
      `# image: 3 layers, ${(tarBytes / 1048576).toFixed(0)} MiB uncompressed, ${tarSizes.join("/")} bytes per tar`,
    );

    // The machine's limit: sha256 of the compressed bytes + gunzip + sha256 of the output, one pass.
    const { source: ls } = openImageSource(parseImageLocation(`oci:${layout}:plain`));
    const man = JSON.parse((await ls.getManifest("plain")).bytes.toString()) as {
      layers: { digest: string }[];
    };
    // CPU time beside wall time: on this shared machine wall time mostly measures the
    // neighbours. `cpu` collects, per timed call, this process's CPU (all its threads), the
    // registry's, and that of children reaped meanwhile (skopeo, umoci).
    let cpu = { self: 0, registry: 0, children: 0 };
    const timed = async (fn: () => Promise<void>): Promise<number> => {
      const c0 = process.cpuUsage();
      const r0 = procCpuMs(reg.process.pid);
      const k0 = childrenCpuMs();
      const t0 = process.hrtime.bigint();
      await fn();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const c = process.cpuUsage(c0);
      cpu = {
        self: (c.user + c.system) / 1000,
        registry: procCpuMs(reg.process.pid) - r0,
        children: childrenCpuMs() - k0,
      };
      return ms;
    };
    const limitOnce = () =>
      timed(async () => {
        for (const l of man.layers) {
          const h1 = createHash("sha256");
          const h2 = createHash("sha256");
          const src = createReadStream(join(layout, "blobs/sha256", l.digest.slice(7)), {
            highWaterMark: 1 << 20,
          });
          src.on("data", (c) => h1.update(c as Buffer));
          await pipeline(
            src,
            createGunzip({ chunkSize: 256 * 1024 }),
            new Writable({
              write(c: Buffer, _e, cb) {
                h2.update(c);
                cb();
              },
            }),
          );
          h1.digest();
          h2.digest();
        }
      });
    let n = 0;
    let peakRss = 0;
    const oursOnce = async (tag: string, encrypted: boolean): Promise<number> => {
      const out = join(dir, `ours-${n++}`);
      const { source, selector } = openImageSource(
        parseImageLocation(`${reg.host}/bench/img:${tag}`),
        { tlsVerify: false },
      );
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
      }, 20);
      try {
        return await timed(async () => {
          await pullImage({
            source,
            selector,
            bundleDir: out,
            verify: acceptAnything,
            concurrency,
            ...(encrypted ? { keys: { privateKeys: [privateKey] } } : {}),
          });
        });
      } finally {
        clearInterval(sampler);
        source.close();
        rmSync(out, { recursive: true, force: true });
      }
    };
    const peerOnce = async (tag: string, encrypted: boolean): Promise<number> => {
      const oci = join(dir, `peer-oci-${n}-${tag}`);
      const bundle = join(dir, `peer-bundle-${n++}-${tag}`);
      try {
        return await timed(async () => {
          const c = await runTool(
            "skopeo",
            [
              "copy",
              "--src-tls-verify=false",
              ...(encrypted ? ["--decryption-key", join(dir, "priv.pem")] : []),
              `docker://${reg.host}/bench/img:${tag}`,
              `oci:${oci}:x`,
            ],
            { timeoutMs: 600_000 },
          );
          if (c.status !== 0) throw new Error(`skopeo copy failed: ${c.stderr}`);
          const u = await runTool("umoci", ["unpack", "--image", `${oci}:x`, bundle], {
            timeoutMs: 600_000,
          });
          if (u.status !== 0) throw new Error(`umoci unpack failed: ${u.stderr}`);
        });
      } finally {
        rmSync(oci, { recursive: true, force: true });
        rmSync(bundle, { recursive: true, force: true });
      }
    };

    for (const [tag, encrypted] of [
      ["plain", false],
      ["enc", true],
    ] as const) {
      // Interleaved (limit, ours, peer) rounds, so load from other jobs hits all three alike;
      // cleanup happens outside the timings; round 0 is a warm-up.
      const lt: number[] = [];
      const ot: number[] = [];
      const pt: number[] = [];
      const lc: number[] = [];
      const oc: number[] = [];
      const rc: number[] = [];
      const pc: number[] = [];
      peakRss = 0;
      for (let i = 0; i <= runs; i++) {
        const l = await realtime(() => limitOnce());
        const lCpu = cpu.self;
        const o = await realtime(() => oursOnce(tag, encrypted));
        const oCpu = cpu;
        const p = await realtime(() => peerOnce(tag, encrypted));
        const pCpu = cpu;
        if (i > 0) {
          lt.push(l);
          ot.push(o);
          pt.push(p);
          lc.push(lCpu);
          oc.push(oCpu.self);
          rc.push(oCpu.registry);
          pc.push(pCpu.children + pCpu.registry);
        }
      }
      const med = (xs: number[]) => summarize("", xs).medianMs;
      const limit = summarize("limit gunzip+sha256", lt);
      const ours = summarize(`ours pull ${tag}`, ot);
      const peer = summarize(`skopeo+umoci ${tag}`, pt);
      ours.extra = {
        MiBps: (tarBytes / 1048576 / (ours.medianMs / 1000)).toFixed(0),
        cpuMs: med(oc).toFixed(0),
        registryCpuMs: med(rc).toFixed(0),
        peakRssMiB: (peakRss / 1048576).toFixed(0),
      };
      peer.extra = { cpuMs: med(pc).toFixed(0) };
      // Peak memory of a pull alone, in a fresh process (this one holds the generated image).
      // Sampled RSS, because ru_maxrss survives fork+exec and would report this parent's peak.
      const child = join(dir, `child-${tag}`);
      const script = `
const { pullImage, acceptAnything } = await import(${JSON.stringify(new URL("../src/oci/pull.js", import.meta.url).href)});
const { openImageSource, parseImageLocation } = await import(${JSON.stringify(new URL("../src/oci/transport.js", import.meta.url).href)});
const { loadPrivateKey } = await import(${JSON.stringify(new URL("../src/oci/layer/keys.js", import.meta.url).href)});
const { readFileSync } = await import("node:fs");
let peak = 0;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 10);
const { source, selector } = openImageSource(parseImageLocation(${JSON.stringify(`${reg.host}/bench/img:${tag}`)}), { tlsVerify: false });
await pullImage({ source, selector, bundleDir: ${JSON.stringify(child)}, verify: acceptAnything, concurrency: ${concurrency}, ${encrypted ? `keys: { privateKeys: [loadPrivateKey(readFileSync(${JSON.stringify(join(dir, "priv.pem"))}))] },` : ""} });
source.close();
clearInterval(timer);
console.log(JSON.stringify({ peakRss: peak }));`;
      const cr = await runTool(process.execPath, ["--input-type=module", "-e", script]);
      if (cr.status !== 0) throw new Error(`child pull failed: ${cr.stderr}`);
      rmSync(child, { recursive: true, force: true });
      const maxRss = (JSON.parse(cr.stdout.trim()) as { peakRss: number }).peakRss / 1048576;
      ours.extra.childPeakRssMiB = maxRss.toFixed(0);
      ours.extra.largestLayerMiB = (Math.max(...tarSizes) / 1048576).toFixed(0);
      const perRound = ot.map((o, k) => o / lt[k]!);
      report(
        "pull",
        ours,
        peer,
        `limit median ${limit.medianMs.toFixed(0)} ms, CPU ${med(lc).toFixed(0)} ms (same rounds); ours/limit = ${(ours.medianMs / limit.medianMs).toFixed(2)}x wall (per round ${perRound.map((x) => x.toFixed(2)).join(", ")}), ${(med(oc) / med(lc)).toFixed(2)}x CPU (+ registry ${med(rc).toFixed(0)} ms); load ${loadavg()[0]!.toFixed(2)}`,
      );
    }
    mkdirSync(join(dir, "done"), { recursive: true });
  } finally {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
