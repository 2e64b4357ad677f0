import {
  AGENT_METHODS,
  AGENT_SERVICE,
  type CreateContainerRequest,
  type CreateSandboxRequest,
  decodeAgentMessage,
  encodeAgentMessage,
  type OciProcess,
} from "../../protocol/agent/index.js";
import { TtrpcClient, TtrpcError } from "../../protocol/ttrpc/index.js";
import { HostError } from "../errors.js";

/** gRPC codes the host reacts to. */
const PERMISSION_DENIED = 7;
const OUT_OF_RANGE = 11;

/** Long calls (WaitProcess, ReadStdout) wait for the workload: a day is "no deadline" here. */
const LONG_MS = 24 * 3600 * 1000;

/** A typed client of the agent's `grpc.AgentService` (the shim's side). */
export class AgentClient {
  private readonly client: TtrpcClient;

  constructor(address: string) {
    this.client = new TtrpcClient(address, { timeoutMs: 120_000 });
  }

  private async call(
    method: string,
    init: object,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>> {
    const spec = AGENT_METHODS[method];
    if (!spec) throw new HostError("ERR_AGENT_CALL", `unknown agent method ${method}`);
    let out: Uint8Array;
    try {
      out = await this.client.callRaw(
        AGENT_SERVICE,
        method,
        encodeAgentMessage(spec.request, init),
        {
          ...(timeoutMs ? { timeoutMs } : {}),
        },
      );
    } catch (err) {
      if (err instanceof TtrpcError && err.grpcCode === PERMISSION_DENIED) {
        throw new HostError("ERR_POLICY_DENIED", err.message, { cause: err });
      }
      throw new HostError("ERR_AGENT_CALL", `${method}: ${(err as Error).message}`, { cause: err });
    }
    return decodeAgentMessage(spec.response, out);
  }

  /** grpc.Health/Check. */
  async health(): Promise<void> {
    await this.client.callRaw("grpc.Health", "Check", new Uint8Array(0));
  }
  async createSandbox(req: CreateSandboxRequest): Promise<void> {
    await this.call("CreateSandbox", req);
  }
  async destroySandbox(): Promise<void> {
    await this.call("DestroySandbox", {});
  }
  async createContainer(req: CreateContainerRequest): Promise<void> {
    await this.call("CreateContainer", req, 600_000);
  }
  async startContainer(containerId: string): Promise<void> {
    await this.call("StartContainer", { containerId });
  }
  async removeContainer(containerId: string): Promise<void> {
    await this.call("RemoveContainer", { containerId });
  }
  async execProcess(containerId: string, execId: string, process: OciProcess): Promise<void> {
    await this.call("ExecProcess", { containerId, execId, process });
  }
  async signalProcess(containerId: string, execId: string, signal: number): Promise<void> {
    await this.call("SignalProcess", { containerId, execId, signal });
  }
  async waitProcess(containerId: string, execId = ""): Promise<number> {
    const r = await this.call("WaitProcess", { containerId, execId }, LONG_MS);
    return (r.status as number) ?? 0;
  }
  async copyFile(path: string, data: Uint8Array, mode: number, dirMode = 0o750): Promise<void> {
    // Chunks of 1 MiB, as the shim sends them; the agent assembles them atomically.
    const CHUNK = 1 << 20;
    for (let off = 0; off === 0 || off < data.length; off += CHUNK) {
      const chunk = data.subarray(off, off + CHUNK);
      await this.call("CopyFile", {
        path,
        fileSize: BigInt(data.length),
        fileMode: mode,
        dirMode,
        uid: 0,
        gid: 0,
        offset: BigInt(off),
        data: chunk,
      });
      if (data.length === 0) break;
    }
  }
  async writeStdin(containerId: string, execId: string, data: Uint8Array): Promise<number> {
    let off = 0;
    while (off < data.length) {
      const r = await this.call("WriteStdin", { containerId, execId, data: data.subarray(off) });
      const n = (r.len as number) ?? 0;
      if (n <= 0) throw new HostError("ERR_AGENT_CALL", "WriteStdin: the agent took no bytes");
      off += n;
    }
    return off;
  }
  async closeStdin(containerId: string, execId: string): Promise<void> {
    await this.call("CloseStdin", { containerId, execId });
  }
  async ttyWinResize(
    containerId: string,
    execId: string,
    row: number,
    column: number,
  ): Promise<void> {
    await this.call("TtyWinResize", { containerId, execId, row, column });
  }
  async updateContainer(containerId: string, resources: object | undefined): Promise<void> {
    await this.call("UpdateContainer", { containerId, ...(resources ? { resources } : {}) });
  }
  async statsContainer(containerId: string): Promise<Record<string, unknown>> {
    return this.call("StatsContainer", { containerId });
  }
  async setPolicy(policy: string): Promise<void> {
    await this.call("SetPolicy", { policy });
  }

  /**
   * Reads a stream until EOF. Returns "denied" when the policy hides it (the agent answers empty
   * reads, draining the pipe, CoCo ≥ 0.13), "eof" otherwise.
   */
  async pump(
    containerId: string,
    execId: string,
    stream: "stdout" | "stderr",
    onData: (chunk: Uint8Array) => void,
  ): Promise<"eof" | "denied"> {
    const method = stream === "stdout" ? "ReadStdout" : "ReadStderr";
    let denied = false;
    for (;;) {
      let r: Record<string, unknown>;
      try {
        r = await this.call(method, { containerId, execId, len: 65536 }, LONG_MS);
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause;
        if (
          cause instanceof TtrpcError &&
          (cause.grpcCode === OUT_OF_RANGE || cause.grpcCode === 5)
        ) {
          return denied ? "denied" : "eof";
        }
        throw err;
      }
      const data = r.data as Uint8Array;
      if (data.length === 0) denied = true;
      else onData(data);
    }
  }

  close(): void {
    this.client.close();
  }
}
