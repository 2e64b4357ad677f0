import { type ChildProcess, spawn } from "node:child_process";
import { AgentError } from "../errors.js";

/** Options for {@link createRunc}. */
export interface RuncOptions {
  /** The runc binary (default `runc` on PATH). */
  binary?: string;
  /** runc's state folder (`--root`); one per agent so agents never see each other's containers. */
  root: string;
  /** Timeout for short runc commands (create/start/kill/delete/state), ms. */
  timeoutMs?: number;
}

/** What `runc state` reports. */
export interface RuncState {
  id: string;
  pid: number;
  status: "creating" | "created" | "running" | "paused" | "stopped";
  bundle: string;
}

/** A process runc runs in the foreground: its stdio pipes and its exit status. */
export interface RuncProcess {
  readonly child: ChildProcess;
  /** Resolves with the container process's exit status (128+n for signal n, as runc reports). */
  readonly exited: Promise<number>;
}

/** The runc operations the agent uses. */
export interface Runc {
  /** `runc run`: create and start in one step; stdio passes straight through to the workload. */
  run(id: string, bundle: string): RuncProcess;
  /** `runc exec` with a process.json; foreground, returns the exec'd process's status. */
  exec(id: string, processJsonPath: string): RuncProcess;
  create(id: string, bundle: string): Promise<void>;
  start(id: string): Promise<void>;
  state(id: string): Promise<RuncState | undefined>;
  kill(id: string, signal: string | number, all?: boolean): Promise<void>;
  delete(id: string, force?: boolean): Promise<void>;
  list(): Promise<RuncState[]>;
  /** `runc events --stats`: one cgroup statistics sample (runc's JSON `data`). */
  stats(id: string): Promise<RuncStats>;
  /** `runc update -r`: new resource limits (runtime-spec LinuxResources JSON). */
  update(id: string, resourcesJsonPath: string): Promise<void>;
  /** `runc events`: calls `onOom` on each OOM kill until the container is gone. */
  watchOom(id: string, onOom: () => void): { stop(): void };
}

/** The parts of `runc events --stats` the agent reports. */
export interface RuncStats {
  cpu?: {
    usage?: { total?: number; percpu?: number[]; kernel?: number; user?: number };
    throttling?: { periods?: number; throttledPeriods?: number; throttledTime?: number };
  };
  memory?: {
    cache?: number;
    usage?: { limit?: number; usage?: number; max?: number; failcnt?: number };
    swap?: { limit?: number; usage?: number; max?: number; failcnt?: number };
    kernel?: { limit?: number; usage?: number; max?: number; failcnt?: number };
    raw?: Record<string, number>;
  };
  pids?: { current?: number; limit?: number };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Drives the real `runc` binary. Long-lived workloads use `runc run` (foreground) so the agent is
 * the parent of the process that waits for the container and learns its exit status: Node cannot
 * become a child subreaper, so `create` + `start` would orphan the container's init and lose it.
 */
export function createRunc(opts: RuncOptions): Runc {
  const bin = opts.binary ?? "runc";
  const base = ["--root", opts.root];
  const timeoutMs = opts.timeoutMs ?? 30_000;

  const short = (args: string[]): Promise<Result> =>
    new Promise((resolve, reject) => {
      const child = spawn(bin, [...base, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => {
        if (stdout.length < 1 << 20) stdout += c.toString("utf8");
      });
      child.stderr.on("data", (c: Buffer) => {
        if (stderr.length < 65536) stderr += c.toString("utf8");
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(
          new AgentError("ERR_AGENT_RUNC_UNAVAILABLE", `cannot run ${bin}: ${err.message}`, {
            cause: err,
          }),
        );
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });

  const must = async (what: string, args: string[]): Promise<Result> => {
    const r = await short(args);
    if (r.code !== 0) {
      throw new AgentError("ERR_AGENT_RUNC", `runc ${what} failed: ${lastLine(r.stderr)}`);
    }
    return r;
  };

  const foreground = (args: string[]): RuncProcess => {
    const child = spawn(bin, [...base, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<number>((resolve) => {
      child.once("error", () => resolve(127));
      child.once("exit", (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
    return { child, exited };
  };

  return {
    run: (id, bundle) => foreground(["run", "--bundle", bundle, id]),
    exec: (id, processJson) => foreground(["exec", "--process", processJson, id]),
    async create(id, bundle) {
      await must("create", ["create", "--bundle", bundle, id]);
    },
    async start(id) {
      await must("start", ["start", id]);
    },
    async state(id) {
      const r = await short(["state", id]);
      if (r.code !== 0) return undefined;
      return parseState(r.stdout);
    },
    async kill(id, signal, all = false) {
      await must("kill", ["kill", ...(all ? ["--all"] : []), id, String(signal)]);
    },
    async delete(id, force = false) {
      await must("delete", ["delete", ...(force ? ["--force"] : []), id]);
    },
    async stats(id) {
      const r = await must("events", ["events", "--stats", id]);
      const v = JSON.parse(r.stdout.trim().split("\n")[0] ?? "{}") as { data?: RuncStats };
      return v.data ?? {};
    },
    async update(id, resourcesJsonPath) {
      await must("update", ["update", "-r", resourcesJsonPath, id]);
    },
    watchOom(id, onOom) {
      const child = spawn(bin, [...base, "events", "--interval", "3600s", id], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      let buf = "";
      child.stdout.on("data", (c: Buffer) => {
        buf = (buf + c.toString("utf8")).slice(-65536);
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            if ((JSON.parse(line) as { type?: string }).type === "oom") onOom();
          } catch {
            // not an event line
          }
          nl = buf.indexOf("\n");
        }
      });
      child.once("error", () => {});
      return { stop: () => child.kill("SIGKILL") };
    },
    async list() {
      const r = await must("list", ["list", "--format", "json"]);
      const v = JSON.parse(r.stdout.trim() || "[]") as unknown;
      return Array.isArray(v) ? v.map((s) => parseState(JSON.stringify(s))) : [];
    },
  };
}

function parseState(text: string): RuncState {
  const v = JSON.parse(text) as Record<string, unknown>;
  return {
    id: String(v.id),
    pid: Number(v.pid ?? 0),
    status: String(v.status) as RuncState["status"],
    bundle: String(v.bundle ?? ""),
  };
}

function lastLine(s: string): string {
  const lines = s.trim().split("\n");
  return (lines[lines.length - 1] ?? "").slice(0, 500);
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (SIGNALS[signal] ?? 15) : 0;
}

/** A skip reason when runc cannot create containers on this host, otherwise false. */
export async function runcSkipReason(root: string, bundle: string): Promise<string | false> {
  const runc = createRunc({ root });
  const id = `probe-${process.pid}-${Date.now()}`;
  try {
    const p = runc.run(id, bundle);
    p.child.stdin?.end();
    p.child.stdout?.resume();
    let err = "";
    p.child.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
    });
    const status = await p.exited;
    return status === 0 ? false : `runc cannot run containers here: ${lastLine(err)}`;
  } catch (e) {
    return `runc is unavailable: ${(e as Error).message}`;
  }
}
