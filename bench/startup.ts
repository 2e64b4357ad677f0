/**
 * `npm run bench -- startup [--runs N]`: process start-up of the `coco` CLI against `node -e 0`
 * (the floor any Node program pays) and `opa eval` (a native peer doing the same Rego work),
 * all in the same run, interleaved round by round so background load hits every command alike.
 * Wall time is the median per command; CPU time (user + system of the child, from the kernel's
 * accounting of reaped children) is the mean, which a loaded machine disturbs far less; peak
 * RSS is GNU time's `%M` of one extra run.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { printHeader, report, type Stats, summarize } from "./harness.js";
import { opa } from "./opa.js";

const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");

/** The `coco` entry a user runs (package.json `bin`; it loads the bundled tree when built). */
export function cocoEntry(): string {
  return join(repo, "dist", "src", "cli", "main.js");
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
function once(cmd: string, args: string[], opts: RunOpts = {}): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const c0 = childrenCpuMs();
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], cwd: opts.cwd });
    child.stdin.end(opts.stdin);
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

interface RunOpts {
  cwd?: string;
  stdin?: Uint8Array;
}

interface Case {
  name: string;
  cmd: string;
  args: string[];
  opts?: RunOpts;
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
    cases.push(await shimStartCase(dir, node));
    if (!existsSync(opa)) throw new Error(`opa not found at ${opa}: run scripts/setup`);
    console.log(
      `# coco entry: ${coco}; ${runs} rounds, interleaved; load ${loadavg()[0]!.toFixed(2)}`,
    );
    for (const c of cases) await once(c.cmd, c.args, c.opts); // warm page and compile caches
    const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
    for (let r = 0; r < runs; r++) {
      for (const c of cases) samples.get(c.name)!.push(await once(c.cmd, c.args, c.opts));
    }
    const stats = new Map<string, Stats>();
    for (const c of cases) {
      const s = samples.get(c.name)!;
      const st = summarize(
        c.name,
        s.map((x) => x.wallMs),
      );
      const rss = c.opts ? undefined : await peakRssKiB(c.cmd, c.args);
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
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const servers: Server[] = [];

/**
 * containerd's `<shim> start` for a container of a pod whose shim already serves (the call
 * every container after the sandbox makes): BootstrapParams on stdin, the bundle as cwd; the
 * shim finds the pod's socket answering and replies with its address. The pod's shim is
 * stood in for by a listening socket (start only checks that something answers there).
 */
async function shimStartCase(dir: string, node: string): Promise<Case> {
  const shim = join(repo, "dist", "src", "host", "shim", "main.js");
  const { shimSocketAddress } = await import("../src/host/shim/bootstrap.js");
  const { BootstrapParamsSchema } = await import(
    "../src/protocol/proto/containerd/runtime/bootstrap/v1/bootstrap_pb.js"
  );
  const { socketPathOf } = await import("../src/protocol/ttrpc/address.js");
  const bundle = join(dir, "bundle");
  mkdirSync(bundle);
  writeFileSync(
    join(bundle, "config.json"),
    JSON.stringify({
      ociVersion: "1.1.0",
      annotations: {
        "io.kubernetes.cri.container-type": "container",
        "io.kubernetes.cri.sandbox-id": "bench-pod",
      },
    }),
  );
  const params = {
    instanceId: "bench-ctr",
    namespace: "k8s.io",
    containerdGrpcAddress: join(dir, "containerd.sock"),
    containerdTtrpcAddress: join(dir, "containerd.sock.ttrpc"),
    socketDir: join(dir, "s"),
  };
  mkdirSync(params.socketDir);
  const address = shimSocketAddress(
    params.socketDir,
    params.containerdGrpcAddress,
    params.namespace,
    "bench-pod",
  );
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(socketPathOf(address), r));
  servers.push(server);
  return {
    name: "containerd-shim-coco-v2 start",
    cmd: node,
    args: [
      shim,
      "-namespace",
      "k8s.io",
      "-id",
      "bench-ctr",
      "-address",
      params.containerdGrpcAddress,
      "start",
    ],
    opts: {
      cwd: bundle,
      stdin: toBinary(BootstrapParamsSchema, create(BootstrapParamsSchema, params)),
    },
  };
}
