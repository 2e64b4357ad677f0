import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type {
  CopyFileRequest,
  CreateContainerRequest,
  CreateSandboxRequest,
  ExecProcessRequest,
  OciSpec,
} from "../../protocol/agent/index.js";
import type { ImagePuller, SecretUnsealer } from "./cdh-client.js";
import { type AgentProcess, Container } from "./container/container.js";
import { toRuncResources, toStatsResponse } from "./container/resources.js";
import type { Runc } from "./container/runc.js";
import { toRuntimeSpec } from "./container/runtime-spec.js";
import { type CopyFileState, copyFile } from "./copy-file.js";
import { AgentError } from "./errors.js";
import {
  type AgentPaths,
  checkMounts,
  checkStorage,
  isPodVolume,
  type MountedStorage,
  mountStorage,
  unmountStorage,
} from "./storage.js";
import { unsealEnv, unsealFiles } from "./unseal.js";

/** What the agent's handlers need from the guest. */
export interface AgentDeps {
  paths: AgentPaths;
  runc: Runc;
  images: ImagePuller;
  secrets: SecretUnsealer;
  /** Diagnostic lines (never secrets, never request payloads). */
  log?: (line: string) => void;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Checks a container id the way Kata's verify_id does: it becomes a path component. */
export function checkId(id: string, what = "container_id"): string {
  if (!ID.test(id))
    throw new AgentError("ERR_AGENT_SPEC", `${what} ${JSON.stringify(id)} is not a valid id`);
  return id;
}

interface ContainerEntry {
  container: Container;
  storages: MountedStorage[];
}

/**
 * The pod agent's state and handlers, behind the policy check (server.ts does decode → policy →
 * handler). One sandbox per agent, as upstream.
 */
export class AgentService {
  private readonly deps: AgentDeps;
  private sandboxId: string | undefined;
  private hostname = "";
  private sandboxStorages: MountedStorage[] = [];
  private readonly podVolumes = new Map<string, MountedStorage>();
  private readonly containers = new Map<string, ContainerEntry>();
  private readonly creating = new Set<string>();
  private readonly copyState: CopyFileState = new Map();
  private readonly oomWaiters: ((cid: string) => void)[] = [];
  private readonly oomQueue: string[] = [];

  constructor(deps: AgentDeps) {
    this.deps = deps;
  }

  private log(line: string): void {
    this.deps.log?.(line);
  }

  /** CreateSandbox: hostname, sandbox storages (shm); hooks and kernel modules are refused. */
  async createSandbox(req: CreateSandboxRequest): Promise<void> {
    if (this.sandboxId !== undefined)
      throw new AgentError("ERR_AGENT_SANDBOX_EXISTS", "the sandbox already exists");
    if (req.guestHookPath !== "")
      throw new AgentError("ERR_AGENT_SPEC", "guest_hook_path is not supported");
    if (req.kernelModules.length > 0)
      throw new AgentError("ERR_AGENT_SPEC", "kernel_modules are not supported");
    if (req.sandboxPidns)
      throw new AgentError("ERR_AGENT_SPEC", "a sandbox pid namespace is not supported");
    const mounted: MountedStorage[] = [];
    try {
      for (const s of req.storages) {
        checkStorage(this.deps.paths, "", s);
        mounted.push(await mountStorage(s));
      }
    } catch (err) {
      for (const m of mounted) await unmountStorage(m);
      throw err;
    }
    this.sandboxStorages = mounted;
    this.sandboxId = checkId(req.sandboxId || "sandbox", "sandbox_id");
    this.hostname = req.hostname;
    this.log(`sandbox ${this.sandboxId} created`);
  }

  private requireSandbox(): void {
    if (this.sandboxId === undefined)
      throw new AgentError("ERR_AGENT_NO_SANDBOX", "CreateSandbox has not been called");
  }

  private entry(cid: string): ContainerEntry {
    const e = this.containers.get(cid);
    if (!e) throw new AgentError("ERR_AGENT_NO_CONTAINER", `no container ${JSON.stringify(cid)}`);
    return e;
  }

  /** CreateContainer: storages, image pull in the guest, mount checks, unsealing, bundle. */
  async createContainer(req: CreateContainerRequest): Promise<void> {
    this.requireSandbox();
    const cid = checkId(req.containerId);
    if (this.containers.has(cid) || this.creating.has(cid))
      throw new AgentError("ERR_AGENT_CONTAINER_EXISTS", `container ${cid} exists`);
    // Reserved for the whole (long: image pull) creation, so a concurrent request for the same
    // id cannot share its bundle folder.
    this.creating.add(cid);
    try {
      await this.createReserved(cid, req);
    } finally {
      this.creating.delete(cid);
    }
  }

  private async createReserved(cid: string, req: CreateContainerRequest): Promise<void> {
    const oci = req.OCI;
    if (!oci?.Process)
      throw new AgentError("ERR_AGENT_SPEC", "CreateContainer carries no OCI process");
    // Refused whatever the policy says: the agent implements none of these safely.
    if (req.devices.length > 0) throw new AgentError("ERR_AGENT_SPEC", "devices are not supported");
    if (req.sharedMounts.length > 0)
      throw new AgentError("ERR_AGENT_SPEC", "shared_mounts are not supported");
    if (req.stringUser !== undefined)
      throw new AgentError("ERR_AGENT_SPEC", "string_user is not supported");
    if (oci.Hooks !== undefined)
      throw new AgentError("ERR_AGENT_SPEC", "OCI hooks are not supported");
    if ((oci.Linux?.UIDMappings.length ?? 0) > 0 || (oci.Linux?.GIDMappings.length ?? 0) > 0) {
      throw new AgentError("ERR_AGENT_SPEC", "UID/GID mappings are not supported");
    }
    const bundle = join(this.deps.paths.root, cid);
    const images = req.storages.filter((s) => s.driver === "image_guest_pull");
    if (images.length !== 1) {
      throw new AgentError(
        "ERR_AGENT_STORAGE",
        "a container needs exactly one image_guest_pull storage",
      );
    }
    const rootfs = join(bundle, "rootfs");
    if (oci.Root?.Path !== rootfs)
      throw new AgentError("ERR_AGENT_SPEC", `OCI Root.Path must be ${rootfs}`);
    const mounted: MountedStorage[] = [];
    try {
      for (const s of req.storages) checkStorage(this.deps.paths, cid, s);
      for (const s of req.storages) {
        if (s.driver === "image_guest_pull") continue;
        if (isPodVolume(this.deps.paths, s)) {
          // One pod volume, set up by the first container that mounts it, kept until DestroySandbox.
          const existing = this.podVolumes.get(s.mountPoint);
          if (existing && existing.storage.driver !== s.driver) {
            throw new AgentError(
              "ERR_AGENT_STORAGE",
              `pod volume ${s.mountPoint} was set up with another driver`,
            );
          }
          if (!existing) this.podVolumes.set(s.mountPoint, await mountStorage(s));
        } else mounted.push(await mountStorage(s));
      }
      const started = Date.now();
      try {
        await this.deps.images.pull(images[0]!.source, bundle);
      } catch (err) {
        if (err instanceof AgentError) throw err;
        throw new AgentError(
          "ERR_AGENT_IMAGE_PULL",
          `image pull of ${images[0]!.source} failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      this.log(`container ${cid}: image pulled in ${Date.now() - started} ms`);
      const roots = [...this.sandboxStorages, ...this.podVolumes.values(), ...mounted].map(
        (m) => m.storage.mountPoint,
      );
      checkMounts(this.deps.paths, oci.Mounts, roots);
      const env = await unsealEnv(this.deps.secrets, oci.Process.Env);
      await unsealFiles(this.deps.secrets, this.deps.paths.shared, oci.Mounts);
      const spec: OciSpec = {
        ...oci,
        Hostname: oci.Hostname || this.hostname,
        Process: { ...oci.Process, Env: env },
      };
      const runtimeSpec = toRuntimeSpec(spec, { rootfs });
      this.containers.set(cid, {
        container: new Container(cid, bundle, runtimeSpec, this.deps.runc),
        storages: mounted,
      });
    } catch (err) {
      for (const m of mounted) await unmountStorage(m);
      rmSync(bundle, { recursive: true, force: true });
      throw err;
    }
  }

  /** StartContainer. */
  async startContainer(cid: string): Promise<void> {
    const e = this.entry(cid);
    const p = e.container.start();
    // Return once the workload runs (or has already ended), so an exec right after finds it.
    await e.container.started();
    // OOM kills are reported to GetOOMEvent as upstream does, from runc's event stream (which
    // needs the container to exist, hence after started()).
    if (p.exitStatus === undefined) {
      const oom = this.deps.runc.watchOom(cid, () => this.oomHappened(cid));
      void p.exited.then(() => oom.stop());
    }
    void p.exited.then((s) => this.log(`container ${cid} exited with status ${s}`));
  }

  /** ExecProcess. */
  execProcess(req: ExecProcessRequest): void {
    const e = this.entry(req.containerId);
    if (!req.process) throw new AgentError("ERR_AGENT_SPEC", "ExecProcess carries no process");
    if (req.stringUser !== undefined)
      throw new AgentError("ERR_AGENT_SPEC", "string_user is not supported");
    checkId(req.execId, "exec_id");
    e.container.exec(req.execId, req.process);
  }

  /** The process named by container id + exec id. */
  process(cid: string, execId: string): AgentProcess {
    return this.entry(cid).container.process(execId);
  }

  /** WaitProcess: the exit status. */
  async waitProcess(cid: string, execId: string): Promise<number> {
    return this.process(cid, execId).exited;
  }

  /** SignalProcess: exec id "" signals the container's init (and with it the container). */
  async signalProcess(cid: string, execId: string, signal: number): Promise<void> {
    const e = this.entry(cid);
    if (signal <= 0 || signal > 64)
      throw new AgentError("ERR_AGENT_SPEC", `signal ${signal} is out of range`);
    if (execId === "") await e.container.signal(signal, signal === 9);
    else {
      // runc exec forwards signals it receives to the exec'd process.
      const p = e.container.process(execId);
      if (p.exitStatus === undefined) process.kill(processPid(p), signal);
    }
  }

  /** RemoveContainer: kill, delete, unmount, remove the bundle. */
  async removeContainer(cid: string): Promise<void> {
    const e = this.entry(cid);
    await e.container.remove();
    for (const m of e.storages) await unmountStorage(m);
    rmSync(e.container.bundle, { recursive: true, force: true });
    this.containers.delete(cid);
  }

  /** CopyFile, confined to the shared folder. */
  copyFile(req: CopyFileRequest): void {
    copyFile(this.deps.paths.shared, req, this.copyState);
  }

  /** Ids of the containers and their status (for StatsContainer and diagnostics). */
  list(): { id: string; status: string }[] {
    return [...this.containers.values()].map((e) => ({
      id: e.container.id,
      status: e.container.status,
    }));
  }

  /** GetOOMEvent: resolves with the id of the next container killed by the OOM killer. */
  nextOom(): Promise<string> {
    const queued = this.oomQueue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => this.oomWaiters.push(resolve));
  }

  private oomHappened(cid: string): void {
    const w = this.oomWaiters.shift();
    if (w) w(cid);
    else if (this.oomQueue.length < 64) this.oomQueue.push(cid);
  }

  /** StatsContainer: cgroup statistics from runc, in the agent API's shape. */
  async statsContainer(cid: string): Promise<object> {
    const e = this.entry(cid);
    if (e.container.status !== "running") return {};
    return toStatsResponse(await this.deps.runc.stats(cid));
  }

  /** UpdateContainer: new cgroup limits through `runc update` (memory, CPU, pids). */
  async updateContainer(cid: string, res: Record<string, unknown> | undefined): Promise<void> {
    const e = this.entry(cid);
    const file = join(e.container.bundle, "update.json");
    writeFileSync(file, toRuncResources(res), { mode: 0o600 });
    await this.deps.runc.update(cid, file);
  }
  /** DestroySandbox: removes every container and sandbox storage. */
  async destroySandbox(): Promise<void> {
    for (const cid of [...this.containers.keys()]) await this.removeContainer(cid);
    for (const m of [...this.podVolumes.values(), ...this.sandboxStorages]) await unmountStorage(m);
    this.sandboxStorages = [];
    this.podVolumes.clear();
    rmSync(this.deps.paths.shared, { recursive: true, force: true });
    this.sandboxId = undefined;
  }
}

function processPid(p: AgentProcess): number {
  const pid = p.pid;
  if (pid === undefined)
    throw new AgentError("ERR_AGENT_NO_PROCESS", `process ${p.execId} has no pid`);
  return pid;
}
