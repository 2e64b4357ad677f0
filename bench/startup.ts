/**
 * `npm run bench -- startup [--runs N]`: process start-up of the `coco` CLI against `node -e 0`
 * (the floor any Node program pays) and `opa eval` (a native peer doing the same Rego work),
 * all in the same run, interleaved round by round so background load hits every command alike.
 * Wall time is the median per command; CPU time (user + system of the child, from the kernel's
 * accounting of reaped children) is the mean, which a loaded machine disturbs far less; peak
 * RSS is GNU time's `%M` of one extra run.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { printHeader, report, type Stats, summarize } from "./harness.js";
import { opa } from "./opa.js";

const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");

/** The `coco` entry a user runs: the bundled CLI when it exists, else the tsc output. */
export function cocoEntry(): string {
  const bundled = join(repo, "dist", "coco.mjs");
  return existsSync(bundled) ? bundled : join(repo, "dist", "src", "cli", "main.js");
}

/** CPU time (user + system) of this process's reaped children, in ms (100 Hz ticks). */
function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 16 and 17 of /proc/<pid>/stat: cutime, cstime.
  return (Number(f[13]) + Number(f[14])) * 10;
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

/** Runs one command to completion; rejects on a non-zero exit (a broken command measures nothing). */
function once(cmd: string, args: string[]): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const c0 = childrenCpuMs();
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stdout.resume();
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) {
        reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err.slice(0, 400)}`));
        return;
      }
      resolve({ wallMs, cpuMs: childrenCpuMs() - c0 });
    });
  });
}

/** Peak RSS (KiB) of one run, from GNU time's %M, when /usr/bin/time exists. */
async function peakRssKiB(cmd: string, args: string[]): Promise<number | undefined> {
  if (!existsSync("/usr/bin/time")) return undefined;
  return new Promise((resolve) => {
    const child = spawn("/usr/bin/time", ["-f", "%M", cmd, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.once("exit", () => {
      const last = err.trim().split("\n").pop() ?? "";
      resolve(/^\d+$/.test(last) ? Number(last) : undefined);
    });
  });
}

interface Case {
  name: string;
  cmd: string;
  args: string[];
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const runs = Number(args[args.indexOf("--runs") + 1] ?? "") || 20;
  printHeader("startup");
  const dir = mkdtempSync(join(tmpdir(), "coco-bench-startup-"));
  try {
    const policy = join(dir, "p.rego");
    const input = join(dir, "input.json");
    writeFileSync(
      policy,
      `package p
import rego.v1
default allow := false
allow if {
  input.user.role == "admin"
  some g in input.user.groups
  startswith(g, "ops-")
}
`,
    );
    writeFileSync(input, JSON.stringify({ user: { role: "admin", groups: ["dev", "ops-1"] } }));
    const coco = cocoEntry();
    const node = process.execPath;
    const evalArgs = ["-d", policy, "-i", input, "data.p.allow"];
    const cases: Case[] = [
      { name: "node -e 0", cmd: node, args: ["-e", "0"] },
      { name: "opa eval (small)", cmd: opa, args: ["eval", ...evalArgs] },
      { name: "coco --version", cmd: node, args: [coco, "--version"] },
      { name: "coco --help", cmd: node, args: [coco, "--help"] },
      { name: "coco rego eval (small)", cmd: node, args: [coco, "rego", "eval", ...evalArgs] },
      { name: "coco kbs-client --help", cmd: node, args: [coco, "kbs-client", "--help"] },
    ];
    const shim = join(repo, "dist", "containerd-shim-coco-v2.mjs");
    if (existsSync(shim)) {
      // containerd runs `<shim> -namespace NS -address ADDR -publish-binary BIN -id ID start`;
      // `-v` is the cheapest full start of the same program (the spawn-and-exit path).
      cases.push({ name: "containerd-shim-coco-v2 -v", cmd: node, args: [shim, "-v"] });
    } else console.log("# shim: not built yet (dist/containerd-shim-coco-v2.mjs absent)");
    if (!existsSync(opa)) throw new Error(`opa not found at ${opa}: run scripts/setup`);
    console.log(
      `# coco entry: ${coco}; ${runs} rounds, interleaved; load ${loadavg()[0]!.toFixed(2)}`,
    );
    for (const c of cases) await once(c.cmd, c.args); // warm the page cache (and V8's code cache)
    const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
    for (let r = 0; r < runs; r++) {
      for (const c of cases) samples.get(c.name)!.push(await once(c.cmd, c.args));
    }
    const stats = new Map<string, Stats>();
    for (const c of cases) {
      const s = samples.get(c.name)!;
      const st = summarize(
        c.name,
        s.map((x) => x.wallMs),
      );
      const rss = await peakRssKiB(c.cmd, c.args);
      st.extra = {
        cpu_ms: +(s.reduce((a, x) => a + x.cpuMs, 0) / s.length).toFixed(1),
        ...(rss !== undefined ? { peak_rss_mib: +(rss / 1024).toFixed(1) } : {}),
      };
      stats.set(c.name, st);
    }
    console.log(`# load average at the end: ${loadavg()[0]!.toFixed(2)}`);
    const floor = stats.get("node -e 0")!;
    const peer = stats.get("opa eval (small)")!;
    for (const c of cases.slice(2)) {
      const st = stats.get(c.name)!;
      report("startup", st, floor, `${c.name}: floor = bare node`);
    }
    report("startup", stats.get("coco rego eval (small)")!, peer, "same policy and input as opa");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
