import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { OciProcess } from "../../../protocol/agent/index.js";
import { AgentError } from "../errors.js";
import { InputPipe, OutputBuffer } from "./process-io.js";
import type { Runc, RuncProcess } from "./runc.js";
import type { RuntimeSpec } from "./runtime-spec.js";

/** A process the agent started (a container's init or an exec), with its stdio. */
export class AgentProcess {
  readonly execId: string;
  readonly stdout: OutputBuffer;
  readonly stderr: OutputBuffer;
  readonly stdin: InputPipe;
  readonly exited: Promise<number>;
  /** The pid of the runc process that runs it (signals sent there reach the workload). */
  readonly pid: number | undefined;
  private status: number | undefined;

  constructor(execId: string, proc: RuncProcess) {
    this.execId = execId;
    const { child } = proc;
    this.pid = child.pid;
    if (!child.stdout || !child.stderr || !child.stdin) {
      throw new AgentError("ERR_AGENT_RUNC", "runc was started without stdio pipes");
    }
    this.stdout = new OutputBuffer(child.stdout);
    this.stderr = new OutputBuffer(child.stderr);
    this.stdin = new InputPipe(child.stdin);
    this.exited = proc.exited.then((s) => {
      this.status = s;
      return s;
    });
  }

  /** The exit status once known. */
  get exitStatus(): number | undefined {
    return this.status;
  }
}

/** Lifecycle of a container inside the agent. */
export type ContainerStatus = "created" | "running" | "stopped";

/**
 * One container: a bundle folder with config.json and a rootfs, run by runc. Creation writes the
 * bundle; start runs it (see runc.ts on why create+start are one `runc run`).
 */
export class Container {
  readonly id: string;
  readonly bundle: string;
  readonly spec: RuntimeSpec;
  private readonly runc: Runc;
  private init: AgentProcess | undefined;
  private readonly execs = new Map<string, AgentProcess>();
  private execSeq = 0;

  constructor(id: string, bundle: string, spec: RuntimeSpec, runc: Runc) {
    this.id = id;
    this.bundle = bundle;
    this.spec = spec;
    this.runc = runc;
    mkdirSync(bundle, { recursive: true, mode: 0o700 });
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec), { mode: 0o600 });
  }

  /** created → running → stopped. */
  get status(): ContainerStatus {
    if (this.init === undefined) return "created";
    return this.init.exitStatus === undefined ? "running" : "stopped";
  }

  /** Starts the workload. */
  start(): AgentProcess {
    if (this.init)
      throw new AgentError("ERR_AGENT_BAD_STATE", `container ${this.id} already started`);
    this.init = new AgentProcess("", this.runc.run(this.id, this.bundle));
    return this.init;
  }

  /**
   * Waits until runc reports the container running (or it already ended), so that an exec right
   * after StartContainer finds it: `runc run` itself says nothing when the container is up. (30 s:
   * under TCG emulation on a busy host, runc alone has taken 8-10 s.)
   */
  async started(timeoutMs = 30_000): Promise<void> {
    const init = this.init;
    if (!init) throw new AgentError("ERR_AGENT_BAD_STATE", `container ${this.id} was not started`);
    const deadline = Date.now() + timeoutMs;
    for (let delay = 2; Date.now() < deadline; delay = Math.min(delay * 2, 50)) {
      if (init.exitStatus !== undefined) return;
      const st = await this.runc.state(this.id);
      if (st?.status === "running" || st?.status === "stopped") return;
      await Promise.race([new Promise((r) => setTimeout(r, delay)), init.exited]);
    }
    throw new AgentError(
      "ERR_AGENT_RUNC",
      `container ${this.id} did not start within ${timeoutMs} ms`,
    );
  }

  /** Runs an extra process in the running container. */
  exec(execId: string, process: OciProcess): AgentProcess {
    if (this.status !== "running") {
      throw new AgentError("ERR_AGENT_BAD_STATE", `container ${this.id} is not running`);
    }
    if (execId === "" || this.execs.has(execId)) {
      throw new AgentError(
        "ERR_AGENT_BAD_STATE",
        `exec id ${JSON.stringify(execId)} is empty or in use`,
      );
    }
    const p = {
      terminal: false,
      // Without an explicit user the exec runs as the container's user, never as root by default.
      user: process.User
        ? { uid: process.User.UID, gid: process.User.GID }
        : this.spec.process.user,
      args: process.Args,
      env: process.Env.length > 0 ? process.Env : this.spec.process.env,
      cwd: process.Cwd || "/",
      noNewPrivileges: true,
      capabilities: this.spec.process.capabilities,
    };
    const file = join(this.bundle, `exec-${++this.execSeq}.json`);
    writeFileSync(file, JSON.stringify(p), { mode: 0o600 });
    const proc = new AgentProcess(execId, this.runc.exec(this.id, file));
    this.execs.set(execId, proc);
    return proc;
  }

  /** The init process (exec id "") or an exec'd one. */
  process(execId: string): AgentProcess {
    const p = execId === "" ? this.init : this.execs.get(execId);
    if (!p) {
      throw new AgentError(
        "ERR_AGENT_NO_PROCESS",
        `container ${this.id} has no process ${JSON.stringify(execId)}`,
      );
    }
    return p;
  }

  /** Sends a signal to the init process (or all processes). */
  async signal(signal: number, all = false): Promise<void> {
    if (this.status !== "running") return;
    await this.runc.kill(this.id, signal, all);
  }

  /** Kills what still runs and removes runc's state. */
  async remove(): Promise<void> {
    if (this.status === "running") {
      try {
        await this.runc.kill(this.id, 9, true);
      } catch {
        // it may have exited between the check and the kill
      }
      await this.init?.exited;
    }
    try {
      await this.runc.delete(this.id, true);
    } catch {
      // never created (not started) or already deleted
    }
  }
}
