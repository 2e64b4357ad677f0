/**
 * Sandbox kinds; runtime classes map onto them (`coco-dev` → process, `qemu` → qemu,
 * `coco-remote` → remote: a peer-pod VM made by the node's `coco peerpod-adaptor`).
 */
export type SandboxKind = "process" | "qemu" | "remote";

/** What a sandbox needs to start. Nothing here is secret: the host holds no secret. */
export interface SandboxStartOptions {
  /** 64-hex sandbox id. */
  id: string;
  /** Host folder for this sandbox's files (init-data image, sockets, logs). */
  stateDir: string;
  /** Init-data TOML bytes (from the pod annotation), attached as the shim attaches it. */
  initData?: Uint8Array;
  /** Registries the guest reaches over plain HTTP (loopback test registries). */
  insecureRegistries?: string[];
  /**
   * The pod's annotations (with CRI's sandbox name and namespace where known). Only the remote
   * sandbox reads them: it passes them to the peer-pods adaptor, as Kata's remote hypervisor
   * does, which chooses the VM's instance type and image from them.
   */
  annotations?: Record<string, string>;
  /** Called with the guest's diagnostic lines (never secrets). */
  onLog?: (line: string) => void;
  /** Aborting cancels a start in progress: what was started is stopped, the start rejects. */
  signal?: AbortSignal;
}

/** A started sandbox: where its agent listens and how to stop it. */
export interface Sandbox {
  readonly id: string;
  readonly kind: SandboxKind;
  /** `unix:///…` address of the agent's ttrpc server. */
  readonly agentAddress: string;
  /** True for sandboxes that give no confidentiality (process): development only. */
  readonly devOnly: boolean;
  /** The host pid of the sandbox's top process (for `coco ps`). */
  readonly pid: number;
  /** Resolves when the sandbox has gone. */
  readonly exited: Promise<void>;
  stop(): Promise<void>;
}

/** A way to make sandboxes. Every backend runs the shared conformance suite (sandbox.suite.ts). */
export interface SandboxBackend {
  readonly kind: SandboxKind;
  /** A reason this backend cannot run here, or false. */
  unavailable(): Promise<string | false>;
  start(opts: SandboxStartOptions): Promise<Sandbox>;
}
