/**
 * The task service containerd calls on a shim (`containerd.task.v3.Task`, and the same methods
 * under `containerd.task.v2.Task`: the messages are identical, only the package differs, so one
 * handler serves both), over the project's one ttrpc implementation.
 */
import type {
  DescMethodUnary,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Task as TaskV2 } from "../../protocol/proto/containerd/runtime/task/v2/shim_pb.js";
import { Task as TaskV3 } from "../../protocol/proto/containerd/runtime/task/v3/shim_pb.js";
import { Status as TaskStatus } from "../../protocol/proto/containerd/types/task/task_pb.js";
import { GrpcCode, StatusError, type TtrpcServer } from "../../protocol/ttrpc/index.js";
import type { PodShim } from "./pod-shim.js";
import { toAgentResources } from "./spec.js";
import { SHIM_VERSION } from "./version.js";

const STATUS = {
  created: TaskStatus.CREATED,
  running: TaskStatus.RUNNING,
  stopped: TaskStatus.STOPPED,
} as const;

/** What the service needs besides the pod. */
export interface TaskServiceOptions {
  pod: PodShim;
  /** Called by Shutdown once no task is left (or `now`): the process exits after replying. */
  shutdown: () => void;
  log: (line: string) => void;
}

type Methods = typeof TaskV3.method;
type Handlers = {
  [K in keyof Methods]: (
    req: MessageShape<Methods[K]["input"]>,
  ) => Promise<MessageInitShape<Methods[K]["output"]>>;
};

/** Builds the handlers of every Task method. */
export function taskHandlers(o: TaskServiceOptions): Handlers {
  const { pod } = o;
  const unimplemented = (what: string) => async () => {
    throw new StatusError(
      GrpcCode.UNIMPLEMENTED,
      `${what} is not supported by the confidential pod runtime`,
    );
  };
  return {
    state: async (r) => {
      const p = pod.state(r.id, r.execId);
      return {
        id: r.id,
        bundle: p.bundle,
        pid: p.pid,
        status: STATUS[p.status],
        stdin: p.stdio.stdin,
        stdout: p.stdio.stdout,
        stderr: p.stdio.stderr,
        terminal: p.stdio.terminal,
        exitStatus: p.exitStatus,
        ...(p.exitedAt ? { exitedAt: timestampFromDate(p.exitedAt) } : {}),
        execId: r.execId,
      };
    },
    create: async (r) => ({
      pid: await pod.create({
        id: r.id,
        bundle: r.bundle,
        terminal: r.terminal,
        stdin: r.stdin,
        stdout: r.stdout,
        stderr: r.stderr,
        rootfs: r.rootfs,
        checkpoint: r.checkpoint,
        options: r.options,
      }),
    }),
    start: async (r) => ({ pid: await pod.start(r.id, r.execId) }),
    delete: async (r) => {
      const p = await pod.delete(r.id, r.execId);
      return {
        pid: p.pid,
        exitStatus: p.exitStatus,
        ...(p.exitedAt ? { exitedAt: timestampFromDate(p.exitedAt) } : {}),
      };
    },
    pids: async (r) => {
      pod.state(r.id, "");
      return { processes: pod.pid ? [{ pid: pod.pid }] : [] };
    },
    pause: unimplemented("Pause"),
    resume: unimplemented("Resume"),
    checkpoint: unimplemented("Checkpoint"),
    kill: async (r) => {
      await pod.kill(r.id, r.execId, r.signal, r.all);
      return {};
    },
    exec: async (r) => {
      if (!r.spec) throw new StatusError(GrpcCode.INVALID_ARGUMENT, "exec without a process spec");
      pod.exec({
        id: r.id,
        execId: r.execId,
        terminal: r.terminal,
        stdin: r.stdin,
        stdout: r.stdout,
        stderr: r.stderr,
        spec: r.spec.value,
      });
      return {};
    },
    resizePty: async (r) => {
      // There is no terminal (refused at Create/Exec), so there is nothing to resize.
      pod.state(r.id, r.execId);
      return {};
    },
    closeIO: async (r) => {
      if (r.stdin) pod.closeIO(r.id, r.execId);
      return {};
    },
    update: async (r) => {
      let resources: object | undefined;
      if (r.resources && r.resources.value.length > 0) {
        try {
          resources = toAgentResources({
            linux: { resources: JSON.parse(new TextDecoder().decode(r.resources.value)) },
          });
        } catch (err) {
          throw new StatusError(GrpcCode.INVALID_ARGUMENT, `resources: ${(err as Error).message}`);
        }
      }
      await pod.update(r.id, resources);
      return {};
    },
    wait: async (r) => {
      const w = await pod.wait(r.id, r.execId);
      return { exitStatus: w.status, exitedAt: timestampFromDate(w.at) };
    },
    stats: async (r) => ({ stats: await pod.stats(r.id) }),
    connect: async (r) => {
      pod.state(r.id, "");
      return { shimPid: process.pid, taskPid: pod.pid, version: SHIM_VERSION };
    },
    shutdown: async (r) => {
      if (r.now || pod.taskCount === 0) setImmediate(o.shutdown);
      return {};
    },
  };
}

/** Registers the task service under both package names containerd 2.x may call. */
export function registerTaskService(server: TtrpcServer, o: TaskServiceOptions): void {
  const h = taskHandlers(o) as unknown as Record<string, (req: unknown) => Promise<object>>;
  for (const svc of [TaskV3, TaskV2] as DescService[]) {
    for (const m of svc.methods) {
      const fn = h[m.localName];
      if (!fn) throw new Error(`no handler for ${svc.typeName}/${m.name}`);
      server.unary(m as DescMethodUnary, async (req) => {
        const t0 = performance.now();
        try {
          // biome-ignore lint/suspicious/noExplicitAny: the v2 and v3 messages have the same shape
          return (await fn(req)) as any;
        } finally {
          o.log(`${m.name} ${Math.round(performance.now() - t0)} ms`);
        }
      });
    }
  }
}
