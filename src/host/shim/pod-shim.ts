/**
 * One shim per pod (keyed by the CRI sandbox id, or by the container id for a standalone `ctr`
 * container): the pod's sandbox, its agent connection, and every task containerd created in it.
 * Maps containerd's task calls to the agent as the Kata shim does: the sandbox container starts
 * the sandbox and sends CreateSandbox; an app container is CreateContainer (guest pull) +
 * StartContainer; exec is ExecProcess at Start; kill/wait/delete are SignalProcess, WaitProcess,
 * RemoveContainer. A sandbox or agent that dies is reported as the exit of every task in it.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { decodeInitDataAnnotation, type OciProcess } from "../../protocol/agent/index.js";
import { parseInitData } from "../../protocol/initdata/index.js";
import { GrpcCode, StatusError } from "../../protocol/ttrpc/index.js";
import { HostError } from "../errors.js";
import { AgentClient } from "../runtime/agent-client.js";
import { INITDATA_ANNOTATION, INITDATA_ANNOTATION_OLD } from "../runtime/pod.js";
import { SHM_STORAGE } from "../runtime/requests.js";
import { backendFor } from "../sandbox/index.js";
import type { Sandbox, SandboxBackend } from "../sandbox/sandbox.js";
import type { EventSink } from "./events.js";
import { KILLED_EXIT, LOST_EXIT, Proc, type ProcKind } from "./process-state.js";
import { runtimeConfigOf, type ShimRuntimeConfig } from "./runtime-config.js";
import {
  type BundleSpec,
  CRI,
  parseBundleSpec,
  toAgentProcess,
  toCreateContainerRequest,
} from "./spec.js";
import { METRICS_TYPE_URL, statsToMetrics } from "./stats.js";
import { pumpInput, pumpOutput, type StdioPaths } from "./stdio.js";

/** Runtime handlers and the runtime class each means (`coco install containerd` names). */
export const HANDLER_CLASSES: Readonly<Record<string, string>> = {
  "coco-dev": "coco-dev",
  "coco-qemu": "qemu",
  "coco-remote": "coco-remote",
};

export { KILLED_EXIT, LOST_EXIT } from "./process-state.js";

/** What a pod shim needs from its process. */
export interface PodShimOptions {
  namespace: string;
  events: EventSink;
  log: (line: string) => void;
  /** This shim's folder (the sandbox's state lives in `<stateDir>/sandbox`). */
  stateDir: string;
  /** Picks the sandbox backend for a runtime class (default: host/sandbox's backendFor). */
  backendFor?: (runtimeClass: string) => SandboxBackend;
  /**
   * Registries the node's operator says the guest reaches over plain HTTP (loopback test
   * registries), besides those the pod's init-data declares.
   */
  insecureRegistries?: string[];
  /** Log the requests sent to the agent (containerd's `-debug`; requests carry no secret). */
  debug?: boolean;
  /**
   * The image reference containerd recorded for a container (`ctr run IMAGE ID`), asked for a
   * container without CRI annotations (default: none known, such a container is refused).
   */
  containerImage?: (id: string) => Promise<string>;
  /** Called with the sandbox's host pid once it started (recorded for `shim delete`). */
  onSandboxStarted?: (pid: number) => void;
}

interface Task {
  init: Proc;
  execs: Map<string, Proc>;
  spec: BundleSpec;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,255}$/;

/** The init-data a pod sandbox carries (CRI copies the pod annotation into the spec). */
export function sandboxInitData(spec: BundleSpec): Uint8Array {
  const a = spec.annotations ?? {};
  const v = a[INITDATA_ANNOTATION] ?? a[INITDATA_ANNOTATION_OLD];
  if (v === undefined)
    throw new HostError(
      "ERR_POD_INITDATA",
      `the pod has no ${INITDATA_ANNOTATION} annotation (or containerd's pod_annotations for this runtime handler does not pass it on): a confidential pod without init-data is refused, since its sandbox would deny every request; run \`coco policy generate\``,
    );
  let toml: Uint8Array;
  try {
    toml = decodeInitDataAnnotation(v);
    parseInitData(toml);
  } catch (err) {
    throw new HostError(
      "ERR_POD_INITDATA",
      `the pod's ${INITDATA_ANNOTATION} annotation is not valid init-data (base64 of gzip of init-data TOML): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return toml;
}

/**
 * Registries the pod's owner declared plain-HTTP in the init-data's cdh.toml
 * (`[image.registry_config] registry = [{location, insecure = true}]`): measured, so the host
 * only repeats what the owner said.
 */
export function insecureRegistriesOf(initData: Uint8Array): string[] {
  try {
    const doc = parseInitData(initData);
    const cdh = doc.data["cdh.toml"];
    if (!cdh) return [];
    const t = parseToml(cdh) as {
      image?: { registry_config?: { registry?: { location?: unknown; insecure?: unknown }[] } };
    };
    return (t.image?.registry_config?.registry ?? [])
      .filter((r) => r.insecure === true && typeof r.location === "string")
      .map((r) => r.location as string);
  } catch {
    return [];
  }
}

/** Turns a host failure into the ttrpc status containerd maps to its errdefs. */
export function toStatus(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  const e = err as { code?: string; message?: string };
  const msg = e.message ?? String(err);
  switch (e.code) {
    case "ERR_POLICY_DENIED":
      return new StatusError(GrpcCode.PERMISSION_DENIED, msg);
    case "ERR_POD_INITDATA":
    case "ERR_SHIM_SPEC":
    case "ERR_INSTALL_RUNTIME_CONFIG":
      return new StatusError(GrpcCode.INVALID_ARGUMENT, msg);
    case "ERR_SHIM_UNSUPPORTED":
      return new StatusError(GrpcCode.UNIMPLEMENTED, msg);
    case "ERR_SHIM_NOT_FOUND":
      return new StatusError(GrpcCode.NOT_FOUND, msg);
    case "ERR_SANDBOX_START":
    case "ERR_SANDBOX_NOT_BUILT":
    case "ERR_SANDBOX_RUNTIME_CLASS":
      return new StatusError(GrpcCode.FAILED_PRECONDITION, msg);
    default:
      return new StatusError(GrpcCode.INTERNAL, msg);
  }
}

/** The task state of one pod. */
export class PodShim {
  private readonly tasks = new Map<string, Task>();
  private sandbox: Sandbox | undefined;
  private agent: AgentClient | undefined;
  private sandboxId = "";
  private sandboxGone = false;
  private stopping = false;
  private readonly opts: PodShimOptions;

  constructor(opts: PodShimOptions) {
    this.opts = opts;
  }

  /** Number of tasks containerd has not deleted. */
  get taskCount(): number {
    return this.tasks.size;
  }

  /** The sandbox's host pid (what every task reports as its pid, as Kata reports the VMM's). */
  get pid(): number {
    return this.sandbox?.pid ?? 0;
  }

  private proc(id: string, execId: string): Proc {
    const t = this.tasks.get(id);
    if (!t) throw new StatusError(GrpcCode.NOT_FOUND, `task ${id} not found`);
    if (execId === "") return t.init;
    const p = t.execs.get(execId);
    if (!p) throw new StatusError(GrpcCode.NOT_FOUND, `exec ${execId} of task ${id} not found`);
    return p;
  }

  private liveAgent(): AgentClient {
    if (!this.agent || this.sandboxGone)
      throw new StatusError(GrpcCode.FAILED_PRECONDITION, "the pod's sandbox is not running");
    return this.agent;
  }

  /** Create: the sandbox task starts the sandbox; a container task creates it in the guest. */
  async create(req: {
    id: string;
    bundle: string;
    terminal: boolean;
    stdin: string;
    stdout: string;
    stderr: string;
    rootfs: unknown[];
    checkpoint: string;
    options?: { typeUrl: string; value: Uint8Array } | undefined;
  }): Promise<number> {
    if (!ID_RE.test(req.id))
      throw new StatusError(GrpcCode.INVALID_ARGUMENT, `invalid task id ${JSON.stringify(req.id)}`);
    if (this.tasks.has(req.id))
      throw new StatusError(GrpcCode.ALREADY_EXISTS, `task ${req.id} already exists`);
    if (req.checkpoint)
      throw new StatusError(GrpcCode.UNIMPLEMENTED, "checkpoint/restore is not supported");
    let spec: BundleSpec;
    try {
      spec = parseBundleSpec(readFileSync(join(req.bundle, "config.json"), "utf8"));
    } catch (err) {
      throw toStatus(err);
    }
    const type = spec.annotations?.[CRI.containerType];
    const kind: ProcKind =
      type === "sandbox" ? "sandbox" : type === "container" ? "container" : "standalone";
    const stdio: StdioPaths = {
      stdin: req.stdin,
      stdout: req.stdout,
      stderr: req.stderr,
      terminal: req.terminal,
    };
    if (req.terminal)
      throw toStatus(
        new HostError(
          "ERR_SHIM_UNSUPPORTED",
          "a terminal (tty) was requested: the confidential pod's agent has no terminal support",
        ),
      );
    const proc = new Proc(req.id, "", kind, req.bundle, stdio);
    let standaloneImage: string | undefined;
    try {
      if (kind === "standalone") {
        if (!this.opts.containerImage)
          throw new HostError(
            "ERR_SHIM_SPEC",
            `container ${req.id} has no CRI annotations and this shim cannot ask containerd for its image`,
          );
        standaloneImage = await this.opts.containerImage(req.id);
      }
    } catch (err) {
      throw toStatus(err);
    }
    try {
      if (kind === "sandbox" || kind === "standalone") {
        if (this.sandbox)
          throw new StatusError(
            GrpcCode.FAILED_PRECONDITION,
            `this shim already runs sandbox ${this.sandboxId}`,
          );
        await this.startSandbox(spec, req.id, runtimeConfigOf(req.options));
      } else {
        const sid = spec.annotations?.[CRI.sandboxId];
        if (!this.sandbox || sid !== this.sandboxId)
          throw new StatusError(
            GrpcCode.FAILED_PRECONDITION,
            `container ${req.id} belongs to sandbox ${sid ?? "(none)"}, which this shim does not run`,
          );
      }
      if (kind !== "sandbox") {
        const request = toCreateContainerRequest(spec, {
          containerId: req.id,
          sandboxId: this.sandboxId,
          ...(standaloneImage !== undefined ? { standaloneImage } : {}),
        });
        this.opts.log(`CreateContainer ${req.id} (image ${request.storages[0]?.source})`);
        if (this.opts.debug)
          this.opts.log(
            `CreateContainerRequest ${JSON.stringify(request, (_k, v) => (typeof v === "bigint" ? Number(v) : v))}`,
          );
        await this.liveAgent().createContainer(request);
      }
    } catch (err) {
      if (kind === "standalone") await this.stopSandbox();
      throw toStatus(err);
    }
    proc.pid = this.pid;
    this.tasks.set(req.id, { init: proc, execs: new Map(), spec });
    this.opts.events.publish("/tasks/create", {
      containerId: req.id,
      bundle: req.bundle,
      // biome-ignore lint/suspicious/noExplicitAny: the rootfs mounts are passed back as containerd sent them
      rootfs: req.rootfs as any,
      io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
      checkpoint: req.checkpoint,
      pid: proc.pid,
    });
    return proc.pid;
  }

  private async startSandbox(
    spec: BundleSpec,
    id: string,
    config: ShimRuntimeConfig | undefined,
  ): Promise<void> {
    const initData = sandboxInitData(spec);
    // The handler's own configuration names its sandbox; else the CRI handler name does.
    const handler = config?.handler ?? spec.annotations?.[CRI.runtimeHandler] ?? "coco-dev";
    const runtimeClass = config?.runtimeClass ?? HANDLER_CLASSES[handler] ?? handler;
    this.opts.log(`runtime handler ${handler} → runtime class ${runtimeClass}`);
    const backend = (this.opts.backendFor ?? backendFor)(runtimeClass);
    const why = await backend.unavailable();
    if (why) throw new HostError("ERR_SANDBOX_START", `runtime handler ${handler}: ${why}`);
    this.sandboxId = spec.annotations?.[CRI.sandboxId] ?? id;
    const sandbox = await backend.start({
      id: this.sandboxId,
      stateDir: join(this.opts.stateDir, "sandbox"),
      initData,
      insecureRegistries: [
        ...new Set([...insecureRegistriesOf(initData), ...(this.opts.insecureRegistries ?? [])]),
      ],
      annotations: { ...(spec.annotations ?? {}) },
      onLog: (l) => this.opts.log(`guest: ${l}`),
    });
    this.sandbox = sandbox;
    this.opts.onSandboxStarted?.(sandbox.pid);
    this.opts.log(
      `sandbox ${sandbox.kind} started for pod ${this.sandboxId} (pid ${sandbox.pid}${sandbox.devOnly ? ", DEVELOPMENT ONLY" : ""})`,
    );
    void sandbox.exited.then(() => this.onSandboxGone());
    const agent = new AgentClient(sandbox.agentAddress);
    this.agent = agent;
    try {
      await agent.health();
      await agent.createSandbox({
        hostname: typeof spec.hostname === "string" ? spec.hostname : "",
        dns: [],
        storages: [SHM_STORAGE],
        sandboxPidns: false,
        sandboxId: this.sandboxId,
        guestHookPath: "",
        kernelModules: [],
      });
    } catch (err) {
      await this.stopSandbox();
      throw err;
    }
  }

  /** Every task still running exits: its sandbox (or the agent, PID 1 inside) has gone. */
  private onSandboxGone(): void {
    if (this.sandboxGone) return;
    this.sandboxGone = true;
    this.agent?.close();
    if (!this.stopping)
      this.opts.log("the sandbox exited unexpectedly: every task in it is reported as exited");
    const at = new Date();
    const sandboxTasks: Task[] = [];
    for (const t of this.tasks.values()) {
      for (const e of t.execs.values()) this.publishExit(e, LOST_EXIT, at);
      if (t.init.kind === "sandbox") sandboxTasks.push(t);
      else this.publishExit(t.init, LOST_EXIT, at);
    }
    for (const t of sandboxTasks)
      this.publishExit(t.init, this.stopping ? KILLED_EXIT : LOST_EXIT, at);
  }

  private publishExit(p: Proc, status: number, at: Date = new Date()): void {
    if (!p.exit(status, at)) return;
    // A process that never started exits silently (containerd sees it at Delete).
    if (p.pid === 0 && p.kind === "exec") return;
    this.opts.events.publish("/tasks/exit", {
      containerId: p.id,
      id: p.execId === "" ? p.id : p.execId,
      pid: p.pid,
      exitStatus: p.exitStatus,
      exitedAt: {
        seconds: BigInt(Math.floor(at.getTime() / 1000)),
        nanos: (at.getTime() % 1000) * 1e6,
      },
    });
  }

  /** Start: the sandbox task runs until the sandbox stops; containers and execs start in the guest. */
  async start(id: string, execId: string): Promise<number> {
    const p = this.proc(id, execId);
    if (p.status !== "created")
      throw new StatusError(
        GrpcCode.FAILED_PRECONDITION,
        `${execId || id} is ${p.status}, not created`,
      );
    if (p.kind === "sandbox") {
      if (this.sandboxGone)
        throw new StatusError(GrpcCode.FAILED_PRECONDITION, "the sandbox has exited");
      p.status = "running";
      this.opts.events.publish("/tasks/start", { containerId: id, pid: p.pid });
      return p.pid;
    }
    const agent = this.liveAgent();
    try {
      if (p.kind === "exec") {
        if (!p.process) throw new StatusError(GrpcCode.INTERNAL, `exec ${execId} has no process`);
        await agent.execProcess(id, execId, p.process);
      } else {
        await agent.startContainer(id);
      }
    } catch (err) {
      throw toStatus(err);
    }
    p.pid = this.pid;
    p.status = "running";
    if (p.kind === "exec")
      this.opts.events.publish("/tasks/exec-started", { containerId: id, execId, pid: p.pid });
    else this.opts.events.publish("/tasks/start", { containerId: id, pid: p.pid });
    const input = pumpInput(agent, id, execId, p.stdio.stdin, this.opts.log);
    p.closeInput = () => input.close();
    p.outputDone = pumpOutput(agent, id, execId, p.stdio, this.opts.log).then(() => undefined);
    void (async () => {
      let status = LOST_EXIT;
      try {
        status = await agent.waitProcess(id, execId);
      } catch (err) {
        if (!this.sandboxGone)
          this.opts.log(`WaitProcess ${id}/${execId}: ${(err as Error).message}`);
      }
      // The exit is published after the output reached containerd (logs complete first).
      await Promise.race([p.outputDone, new Promise((r) => setTimeout(r, 2000))]);
      this.publishExit(p, status);
    })();
    return p.pid;
  }

  /** Exec: records the process; the policy check happens at Start (ExecProcess). */
  exec(req: {
    id: string;
    execId: string;
    terminal: boolean;
    stdin: string;
    stdout: string;
    stderr: string;
    spec: Uint8Array;
  }): void {
    const t = this.tasks.get(req.id);
    if (!t) throw new StatusError(GrpcCode.NOT_FOUND, `task ${req.id} not found`);
    if (t.init.kind === "sandbox")
      throw new StatusError(GrpcCode.FAILED_PRECONDITION, "cannot exec in the pod sandbox task");
    if (t.execs.has(req.execId) || !ID_RE.test(req.execId))
      throw new StatusError(
        GrpcCode.ALREADY_EXISTS,
        `exec ${req.execId} already exists or is not a valid id`,
      );
    if (t.init.status !== "running")
      throw new StatusError(GrpcCode.FAILED_PRECONDITION, `task ${req.id} is not running`);
    let process: OciProcess;
    try {
      const json = JSON.parse(new TextDecoder().decode(req.spec));
      process = toAgentProcess({ ...json, terminal: req.terminal || json?.terminal === true });
    } catch (err) {
      if (err instanceof SyntaxError)
        throw new StatusError(
          GrpcCode.INVALID_ARGUMENT,
          `the exec's process spec is not JSON: ${err.message}`,
        );
      throw toStatus(err);
    }
    const p = new Proc(req.id, req.execId, "exec", t.init.bundle, {
      stdin: req.stdin,
      stdout: req.stdout,
      stderr: req.stderr,
      terminal: req.terminal,
    });
    p.process = process;
    t.execs.set(req.execId, p);
    this.opts.events.publish("/tasks/exec-added", { containerId: req.id, execId: req.execId });
  }

  /** Kill: a signal in the guest; on the sandbox task, the sandbox stops. */
  async kill(id: string, execId: string, signal: number, all: boolean): Promise<void> {
    const p = this.proc(id, execId);
    if (p.kind === "sandbox") {
      await this.stopSandbox();
      return;
    }
    if (p.status === "stopped")
      throw new StatusError(GrpcCode.NOT_FOUND, `process ${execId || id} already finished`);
    if (p.status === "created" && p.kind === "exec") {
      this.publishExit(p, 128 + signal);
      return;
    }
    try {
      await this.liveAgent().signalProcess(id, all ? "" : execId, signal);
    } catch (err) {
      throw toStatus(err);
    }
  }

  /** Wait: blocks until the process exited. */
  async wait(id: string, execId: string): Promise<{ status: number; at: Date }> {
    const p = this.proc(id, execId);
    await p.exited;
    return { status: p.exitStatus, at: p.exitedAt ?? new Date() };
  }

  /** State of one process. */
  state(id: string, execId: string): Proc {
    return this.proc(id, execId);
  }

  /** CloseIO: closes the process's stdin. */
  closeIO(id: string, execId: string): void {
    this.proc(id, execId).closeInput();
  }

  /** Delete: RemoveContainer in the guest; the sandbox task stops the sandbox and its files. */
  async delete(id: string, execId: string): Promise<Proc> {
    const t = this.tasks.get(id);
    if (!t) throw new StatusError(GrpcCode.NOT_FOUND, `task ${id} not found`);
    if (execId !== "") {
      const p = this.proc(id, execId);
      if (p.status === "running")
        throw new StatusError(GrpcCode.FAILED_PRECONDITION, `exec ${execId} is still running`);
      t.execs.delete(execId);
      this.publishDelete(p);
      return p;
    }
    const p = t.init;
    if (p.status === "running" && !this.sandboxGone && p.kind !== "sandbox")
      throw new StatusError(GrpcCode.FAILED_PRECONDITION, `task ${id} is still running`);
    if (p.kind !== "sandbox" && !this.sandboxGone && this.agent) {
      try {
        await this.agent.removeContainer(id);
      } catch (err) {
        this.opts.log(`RemoveContainer ${id}: ${(err as Error).message}`);
      }
    }
    if (p.kind === "sandbox" || p.kind === "standalone") {
      await this.stopSandbox();
      rmSync(join(this.opts.stateDir, "sandbox"), { recursive: true, force: true });
    }
    if (p.status !== "stopped") p.exit(p.kind === "sandbox" ? KILLED_EXIT : LOST_EXIT);
    this.tasks.delete(id);
    this.publishDelete(p);
    return p;
  }

  private publishDelete(p: Proc): void {
    const at = p.exitedAt ?? new Date();
    this.opts.events.publish("/tasks/delete", {
      containerId: p.id,
      pid: p.pid,
      exitStatus: p.exitStatus,
      exitedAt: {
        seconds: BigInt(Math.floor(at.getTime() / 1000)),
        nanos: (at.getTime() % 1000) * 1e6,
      },
      id: p.execId,
    });
  }

  /** Stops the sandbox (DestroySandbox, then the sandbox itself); idempotent. */
  async stopSandbox(): Promise<void> {
    const sandbox = this.sandbox;
    if (!sandbox || this.sandboxGone) return;
    this.stopping = true;
    try {
      await this.agent?.destroySandbox();
    } catch {
      // the policy may deny it, or the agent is gone: stopping the sandbox ends it anyway
    }
    await sandbox.stop();
    await sandbox.exited;
    this.onSandboxGone();
  }

  /** Stats: the guest's cgroup stats (StatsContainer) as containerd's cgroup v1 metrics. */
  async stats(id: string): Promise<{ typeUrl: string; value: Uint8Array }> {
    const p = this.proc(id, "");
    if (p.kind === "sandbox")
      throw new StatusError(
        GrpcCode.UNIMPLEMENTED,
        "the pod sandbox task has no cgroup of its own in the guest",
      );
    try {
      return {
        typeUrl: METRICS_TYPE_URL,
        value: statsToMetrics(await this.liveAgent().statsContainer(id)),
      };
    } catch (err) {
      throw toStatus(err);
    }
  }

  /** Update: the new limits go to the guest's policy (UpdateContainer; denied by default). */
  async update(id: string, resources: object | undefined): Promise<void> {
    const p = this.proc(id, "");
    if (p.kind === "sandbox") return; // the sandbox's own limits are the VM's (set at start)
    try {
      await this.liveAgent().updateContainer(id, resources);
    } catch (err) {
      throw toStatus(err);
    }
  }
}
