import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { decodeInitDataAnnotation } from "../../protocol/agent/index.js";
import { HostError } from "../errors.js";
import { backendFor } from "../sandbox/index.js";
import type { Sandbox, SandboxBackend } from "../sandbox/sandbox.js";
import { AgentClient } from "./agent-client.js";
import { fetchImageInfo, type ImageInfo, isLoopbackRegistry } from "./image-config.js";
import {
  INITDATA_ANNOTATION,
  INITDATA_ANNOTATION_OLD,
  type PodContainer,
  type PodSpec,
} from "./pod.js";
import { containerPlan, newId, sandboxRequest } from "./requests.js";
import { DEFAULT_STATE_ROOT, forgetPod, type PodRecord, podDir, savePod } from "./state.js";

/** Output of a container, as far as the policy lets the host read it. */
export type OutputSink = (
  container: string,
  stream: "stdout" | "stderr",
  chunk: Uint8Array,
) => void;

/** Timings of one run (for `bench/pod.ts`). */
export interface RunTimings {
  sandboxMs: number;
  /** CreateContainer of the first app container: image pull (+ attestation when CDH fetches keys). */
  createMs: number;
  startMs: number;
  firstOutputMs?: number;
  totalMs: number;
}

/** CreateContainer / StartContainer time of one container. */
export interface ContainerTiming {
  name: string;
  createMs: number;
  startMs: number;
}

/** Options for {@link runPod}. */
export interface RunOptions {
  /** Overrides the pod's runtimeClassName. */
  runtimeClass?: string;
  /** Sandbox backend to use (default: from the runtime class). */
  backend?: SandboxBackend;
  stateRoot?: string;
  onOutput?: OutputSink;
  /** Diagnostic lines (never secrets). */
  onEvent?: (line: string) => void;
  /** Leave the sandbox running after the containers end (for `coco exec`/`logs`). */
  keep?: boolean;
  /** Return once the containers started (implies keep). */
  detach?: boolean;
  /** Aborting stops the sandbox (Ctrl-C on `coco run`); the run then fails and cleans up. */
  signal?: AbortSignal;
  /**
   * Keep the sandbox and supervise it (restarts per restartPolicy) without reading the app
   * containers' output, which stays for `coco logs`: what the detached supervisor of `coco run -d`
   * does. `onStarted` is called once every app container started.
   */
  supervise?: boolean;
  /** Called once the app containers started (with the record as saved). */
  onStarted?: (record: PodRecord) => void;
  /** Restart backoff (restartPolicy OnFailure/Always); defaults are kubelet's, see {@link RESTART_DEFAULTS}. */
  restart?: Partial<RestartOptions>;
}

/** How containers are restarted under restartPolicy OnFailure or Always. */
export interface RestartOptions {
  /** Delay before the first restart; doubles on each restart (kubelet: 10 s). */
  initialMs: number;
  /** Upper bound of the delay (kubelet MaxContainerBackOff: 300 s). */
  maxMs: number;
  /** A container that ran this long restarts with the initial delay again (kubelet: 10 min). */
  resetAfterMs: number;
  /**
   * Restarts of one container under OnFailure before the pod is failed. kubelet has no bound (a
   * Job's backoffLimit, default 6, bounds it one level up); coco has no Job controller, so it
   * takes the Job default. Always is unbounded, as kubelet.
   */
  maxRestarts: number;
}

/** kubelet's backoff (pkg/kubelet/kubelet.go: backOffPeriod, MaxContainerBackOff) and Job's backoffLimit. */
export const RESTART_DEFAULTS: RestartOptions = {
  initialMs: 10_000,
  maxMs: 300_000,
  resetAfterMs: 600_000,
  maxRestarts: 6,
};

/** The result of running a pod. */
export interface RunResult {
  /** 0 when every container exited 0, else the first non-zero status. */
  exitCode: number;
  statuses: { name: string; status: number }[];
  timings: RunTimings;
  /** Per container, in launch order. */
  containerTimings: ContainerTiming[];
  record: PodRecord;
}

/** The init-data TOML bytes a pod carries in its annotation (either upstream name). */
export function podInitData(pod: PodSpec): Uint8Array | undefined {
  const v = pod.annotations[INITDATA_ANNOTATION] ?? pod.annotations[INITDATA_ANNOTATION_OLD];
  if (v === undefined) return undefined;
  try {
    return decodeInitDataAnnotation(v);
  } catch (err) {
    throw new HostError(
      "ERR_POD_INITDATA",
      `the init-data annotation does not decode: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Runs a pod the way the Kata shim drives the agent: start the sandbox with the pod's init-data,
 * CreateSandbox, then per container CopyFile (secret/configMap items), CreateContainer with a
 * guest-pull storage, StartContainer, stream output, WaitProcess. The host only ever handles
 * sealed values, image references and its own requests; a policy denial surfaces as
 * ERR_POLICY_DENIED with the agent's message.
 */
export async function runPod(pod: PodSpec, opts: RunOptions = {}): Promise<RunResult> {
  const t0 = performance.now();
  const ev = opts.onEvent ?? (() => {});
  const root = opts.stateRoot ?? DEFAULT_STATE_ROOT;
  for (const w of pod.warnings) ev(`warning: ${w}`);
  const initData = podInitData(pod);
  if (initData === undefined) {
    throw new HostError(
      "ERR_POD_INITDATA",
      `pod ${pod.name} has no ${INITDATA_ANNOTATION} annotation: the sandbox would deny every request; run \`coco policy generate\` first`,
    );
  }
  const all: { c: PodContainer; init: boolean }[] = [
    ...pod.initContainers.map((c) => ({ c, init: true })),
    ...pod.containers.map((c) => ({ c, init: false })),
  ];
  const images = new Map<string, ImageInfo>();
  for (const { c } of all)
    if (!images.has(c.image)) images.set(c.image, await fetchImageInfo(c.image));
  const backend = opts.backend ?? backendFor(opts.runtimeClass ?? pod.runtimeClassName);
  const why = await backend.unavailable();
  if (why) throw new HostError("ERR_SANDBOX_START", why);
  const sandboxId = newId();
  const stateDir = join(podDir(root, pod.name), "sandbox");
  const registries = [...images.keys()]
    .map((i) => i.split("/")[0] ?? "")
    .filter(isLoopbackRegistry);
  const sandbox: Sandbox = await backend.start({
    id: sandboxId,
    stateDir,
    initData,
    insecureRegistries: [...new Set(registries)],
    // As CRI hands them to a runtime: the pod's annotations plus its sandbox name and namespace.
    annotations: {
      ...pod.annotations,
      "io.kubernetes.cri.sandbox-name": pod.name,
      "io.kubernetes.cri.sandbox-namespace": pod.namespace,
    },
    onLog: (l) => ev(`guest: ${l}`),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const tSandbox = performance.now();
  const onAbort = () => {
    ev("interrupted: stopping the sandbox");
    void sandbox.stop();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (sandbox.devOnly)
    ev(
      `sandbox ${sandbox.kind} started (DEVELOPMENT ONLY: the sample TEE gives no confidentiality${sandbox.kind === "process" ? " and no isolation from this host" : ""})`,
    );
  const record: PodRecord = {
    name: pod.name,
    namespace: pod.namespace,
    sandboxId,
    kind: sandbox.kind,
    devOnly: sandbox.devOnly,
    agentAddress: sandbox.agentAddress,
    pid: sandbox.pid,
    stateDir,
    containers: [],
    status: "running",
    startedAt: new Date().toISOString(),
  };
  savePod(root, record);
  const agent = new AgentClient(sandbox.agentAddress);
  const statuses: { name: string; status: number }[] = [];
  const timings: RunTimings = { sandboxMs: tSandbox - t0, createMs: 0, startMs: 0, totalMs: 0 };
  const containerTimings: ContainerTiming[] = [];
  let failed: unknown;
  try {
    await agent.health();
    await agent.createSandbox(sandboxRequest(pod, sandboxId));
    const launch = async (c: PodContainer, init: boolean) => {
      const cid = newId();
      const plan = containerPlan(pod, c, images.get(c.image)!, { cid, sandboxId });
      for (const f of plan.files) await agent.copyFile(f.path, f.data, f.mode);
      const tc = performance.now();
      await agent.createContainer(plan.request);
      const ts = performance.now();
      await agent.startContainer(cid);
      const te = performance.now();
      containerTimings.push({ name: c.name, createMs: ts - tc, startMs: te - ts });
      if (!init && timings.createMs === 0) {
        timings.createMs = ts - tc;
        timings.startMs = te - ts;
      }
      const prev = record.containers.find((x) => x.name === c.name);
      if (prev) prev.id = cid;
      else record.containers.push({ name: c.name, id: cid, init });
      savePod(root, record);
      ev(`container ${c.name} started`);
      // Detached runs leave the streams to `coco logs`.
      const quiet = (opts.detach || opts.supervise) && !init;
      const streams = quiet ? [] : (["stdout", "stderr"] as const);
      const pumps = streams.map((s) =>
        agent
          .pump(cid, "", s, (chunk) => {
            timings.firstOutputMs ??= performance.now() - t0;
            opts.onOutput?.(c.name, s, chunk);
          })
          .then(
            (how) => {
              if (how === "denied") ev(`${c.name} ${s}: hidden from the host by the pod's policy`);
            },
            (err: Error) => ev(`${c.name} ${s}: ${err.message}`),
          ),
      );
      return { cid, name: c.name, pumps, startedAt: performance.now() };
    };
    const backoff: RestartOptions = { ...RESTART_DEFAULTS, ...opts.restart };
    // Waits for a container and restarts it as kubelet would: Always restarts whatever the
    // status, OnFailure on a non-zero status (init containers: on failure only); each restart is
    // a new container (RemoveContainer, CopyFile, CreateContainer, StartContainer), which the
    // policy allows because RemoveContainer frees the policy container for a new id.
    const supervise = async (
      c: PodContainer,
      first: Awaited<ReturnType<typeof launch>>,
      init: boolean,
    ): Promise<number> => {
      let cur = first;
      let restarts = 0;
      let delay = backoff.initialMs;
      for (;;) {
        const status = await agent.waitProcess(cur.cid);
        await Promise.allSettled(cur.pumps);
        ev(`container ${c.name} exited with status ${status}`);
        const policy = init && pod.restartPolicy === "Always" ? "OnFailure" : pod.restartPolicy;
        const again = policy === "Always" || (policy === "OnFailure" && status !== 0);
        if (!again || opts.signal?.aborted) return status;
        if (policy === "OnFailure" && restarts >= backoff.maxRestarts) {
          ev(`container ${c.name}: not restarted again after ${restarts} restarts`);
          return status;
        }
        if (performance.now() - cur.startedAt >= backoff.resetAfterMs) delay = backoff.initialMs;
        ev(`container ${c.name}: restart ${restarts + 1} in ${Math.round(delay)} ms`);
        await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {});
        delay = Math.min(delay * 2, backoff.maxMs);
        await agent.removeContainer(cur.cid);
        cur = await launch(c, init);
        restarts++;
        const entry = record.containers.find((x) => x.name === c.name);
        if (entry) entry.restarts = restarts;
        savePod(root, record);
      }
    };
    for (const { c } of all.filter((x) => x.init)) {
      const r = await launch(c, true);
      const status = await supervise(c, r, true);
      statuses.push({ name: c.name, status });
      if (status !== 0)
        throw new HostError(
          "ERR_AGENT_CALL",
          `init container ${c.name} exited with status ${status}`,
        );
    }
    const running = [];
    for (const { c } of all.filter((x) => !x.init)) running.push(await launch(c, false));
    opts.onStarted?.(record);
    if (opts.detach) {
      timings.totalMs = performance.now() - t0;
      agent.close();
      return { exitCode: 0, statuses, timings, containerTimings, record };
    }
    const apps = all.filter((x) => !x.init);
    const ended = await Promise.all(running.map((r, i) => supervise(apps[i]!.c, r, false)));
    running.forEach((r, i) => {
      statuses.push({ name: r.name, status: ended[i]! });
    });
  } catch (err) {
    failed = err;
  }
  // Interrupted (Ctrl-C, coco rm of a supervised pod): whatever broke after the sandbox was
  // stopped (a backoff sleep, a pending WaitProcess) is a consequence, not the cause.
  if (opts.signal?.aborted)
    failed = new HostError("ERR_POD_INTERRUPTED", `pod ${pod.name} was stopped by a signal`);
  opts.signal?.removeEventListener("abort", onAbort);
  const exitCode = failed ? 1 : (statuses.find((s) => s.status !== 0)?.status ?? 0);
  record.status = exitCode === 0 ? "succeeded" : "failed";
  record.exitCode = exitCode;
  timings.totalMs = performance.now() - t0;
  if (opts.keep && !failed) {
    savePod(root, record);
    agent.close();
  } else {
    try {
      await agent.destroySandbox();
    } catch {
      // the policy may deny it or the agent may be gone: stopping the sandbox ends it anyway
    }
    agent.close();
    await sandbox.stop();
    forgetPod(root, pod.name);
  }
  if (failed) throw failed;
  return { exitCode, statuses, timings, containerTimings, record };
}
