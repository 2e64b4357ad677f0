import {
  AGENT_METHODS,
  AGENT_SERVICE,
  type CopyFileRequest,
  type CreateContainerRequest,
  type CreateSandboxRequest,
  decodeAgentMessage,
  type ExecProcessRequest,
  encodeAgentMessage,
  HEALTH_SERVICE,
  toPolicyInput,
} from "../../protocol/agent/index.js";
import { StatusError, TtrpcServer } from "../../protocol/ttrpc/index.js";
import { AgentError, type AgentErrorCode } from "./errors.js";
import type { AgentPolicy } from "./policy/agent-policy.js";
import type { AgentService } from "./service.js";

/** gRPC status codes the agent answers with (google.rpc.Code). */
export const Status = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
} as const;

const CODE_STATUS: Partial<Record<AgentErrorCode, number>> = {
  ERR_AGENT_NO_SANDBOX: Status.FAILED_PRECONDITION,
  ERR_AGENT_SANDBOX_EXISTS: Status.ALREADY_EXISTS,
  ERR_AGENT_NO_CONTAINER: Status.NOT_FOUND,
  ERR_AGENT_NO_PROCESS: Status.NOT_FOUND,
  ERR_AGENT_CONTAINER_EXISTS: Status.ALREADY_EXISTS,
  ERR_AGENT_BAD_STATE: Status.FAILED_PRECONDITION,
  ERR_AGENT_SPEC: Status.INVALID_ARGUMENT,
  ERR_AGENT_STORAGE: Status.INVALID_ARGUMENT,
  ERR_AGENT_MOUNT: Status.INVALID_ARGUMENT,
  ERR_AGENT_COPY_FILE: Status.INVALID_ARGUMENT,
  ERR_AGENT_EOF: Status.OUT_OF_RANGE,
  ERR_AGENT_POLICY_DENIED: Status.PERMISSION_DENIED,
  ERR_AGENT_UNIMPLEMENTED: Status.UNIMPLEMENTED,
};

/** The agent version reported by grpc.Health/Version. */
export const AGENT_VERSION = "coco-ts-agent 0.1.0";

type Handler = (req: never) => Promise<object | undefined> | object | undefined;

/**
 * Wires the agent to a ttrpc server: every `grpc.AgentService` call is decoded, checked by the
 * policy (`data.agent_policy.<RequestName>` with kata's JSON as input; deny when undefined) and
 * only then handled. Denials answer PERMISSION_DENIED "<Request> is blocked by policy: <prints>",
 * as upstream. A denied ReadStdout/ReadStderr still drains the stream and answers empty data
 * (CoCo v0.13 behaviour, so a workload never blocks on a full pipe).
 */
export function createAgentServer(opts: {
  service: AgentService;
  policy: AgentPolicy;
  log?: (line: string) => void;
}): TtrpcServer {
  const { service: svc, policy } = opts;
  const server = new TtrpcServer({
    onConnectionError: (err) => opts.log?.(`agent connection error: ${err.message}`),
  });

  const handlers: Record<string, Handler> = {
    CreateSandbox: (r: CreateSandboxRequest) => svc.createSandbox(r).then(() => undefined),
    DestroySandbox: () => svc.destroySandbox().then(() => undefined),
    CreateContainer: (r: CreateContainerRequest) => svc.createContainer(r).then(() => undefined),
    StartContainer: (r: { containerId: string }) =>
      svc.startContainer(r.containerId).then(() => undefined),
    RemoveContainer: (r: { containerId: string }) =>
      svc.removeContainer(r.containerId).then(() => undefined),
    ExecProcess: (r: ExecProcessRequest) => {
      svc.execProcess(r);
      return undefined;
    },
    SignalProcess: (r: { containerId: string; execId: string; signal: number }) =>
      svc.signalProcess(r.containerId, r.execId, r.signal).then(() => undefined),
    WaitProcess: async (r: { containerId: string; execId: string }) => ({
      status: await svc.waitProcess(r.containerId, r.execId),
    }),
    ReadStdout: async (r: { containerId: string; execId: string; len: number }) => ({
      data: await svc.process(r.containerId, r.execId).stdout.read(r.len),
    }),
    ReadStderr: async (r: { containerId: string; execId: string; len: number }) => ({
      data: await svc.process(r.containerId, r.execId).stderr.read(r.len),
    }),
    WriteStdin: async (r: { containerId: string; execId: string; data: Uint8Array }) => ({
      len: await svc.process(r.containerId, r.execId).stdin.write(r.data),
    }),
    CloseStdin: (r: { containerId: string; execId: string }) => {
      svc.process(r.containerId, r.execId).stdin.close();
      return undefined;
    },
    CopyFile: (r: CopyFileRequest) => {
      svc.copyFile(r);
      return undefined;
    },
    GetOOMEvent: async () => ({ containerId: await svc.nextOom() }),
    StatsContainer: (r: { containerId: string }) => svc.statsContainer(r.containerId),
    UpdateContainer: (r: { containerId: string; resources?: Record<string, unknown> }) =>
      svc.updateContainer(r.containerId, r.resources).then(() => undefined),
    SetPolicy: (r: { policy: string }) => {
      policy.setPolicy(r.policy);
      return undefined;
    },
    GetGuestDetails: () => ({
      agentDetails: {
        version: AGENT_VERSION,
        storageHandlers: ["image_guest_pull", "ephemeral", "local"],
      },
    }),
  };

  for (const [method, spec] of Object.entries(AGENT_METHODS)) {
    server.register(AGENT_SERVICE, method, async (payload) => {
      let req: Record<string, unknown>;
      let input: ReturnType<typeof toPolicyInput>;
      try {
        req = decodeAgentMessage(spec.request, payload);
        input = toPolicyInput(spec.request, req);
      } catch (err) {
        throw new StatusError(Status.INVALID_ARGUMENT, (err as Error).message);
      }
      let decision: ReturnType<AgentPolicy["check"]>;
      try {
        decision = policy.check(spec.request, input);
      } catch (err) {
        throw new StatusError(
          Status.INTERNAL,
          `${spec.request}: internal error ${(err as Error).message}`,
        );
      }
      if (!decision.allowed) {
        opts.log?.(
          `policy denied ${spec.request}${decision.reason ? ` (${decision.reason})` : ""}`,
        );
        if (spec.request === "ReadStreamRequest") return drain(svc, method, req);
        const why = [decision.prints, decision.reason].filter((s) => s).join(" ");
        throw new StatusError(
          Status.PERMISSION_DENIED,
          `${spec.request} is blocked by policy: ${why}`,
        );
      }
      const handler = handlers[method];
      if (!handler)
        throw new StatusError(Status.UNIMPLEMENTED, `${method} is not implemented by this agent`);
      try {
        const out = await handler(req as never);
        return encodeAgentMessage(spec.response, out ?? {});
      } catch (err) {
        if (err instanceof AgentError) {
          throw new StatusError(CODE_STATUS[err.code] ?? Status.INTERNAL, err.message);
        }
        throw err;
      }
    });
  }
  server.register(HEALTH_SERVICE, "Check", async () =>
    encodeAgentMessage("HealthCheckResponse", { status: 1 }),
  );
  server.register(HEALTH_SERVICE, "Version", async () =>
    encodeAgentMessage("VersionCheckResponse", {
      grpcVersion: "1.0.0",
      agentVersion: AGENT_VERSION,
    }),
  );
  return server;
}

async function drain(
  svc: AgentService,
  method: string,
  req: Record<string, unknown>,
): Promise<Uint8Array> {
  try {
    const p = svc.process(req.containerId as string, req.execId as string);
    await (method === "ReadStdout" ? p.stdout : p.stderr).read(req.len as number);
  } catch (err) {
    if (err instanceof AgentError) {
      throw new StatusError(CODE_STATUS[err.code] ?? Status.INTERNAL, err.message);
    }
    throw err;
  }
  return encodeAgentMessage("ReadStreamResponse", { data: new Uint8Array(0) });
}
