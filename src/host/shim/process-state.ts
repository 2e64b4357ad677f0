import type { OciProcess } from "../../protocol/agent/index.js";
import type { StdioPaths } from "./stdio.js";

/** Exit status reported for a task whose sandbox or agent went away (as containerd's 255). */
export const LOST_EXIT = 255;
/** Exit status of the sandbox task after SIGKILL (128 + 9, what a killed pause reports). */
export const KILLED_EXIT = 137;

/** A task process as containerd sees it. */
export type ProcStatus = "created" | "running" | "stopped";

/** What a task is for: the pod sandbox itself, an app container, a standalone (ctr) container, or an exec. */
export type ProcKind = "sandbox" | "container" | "standalone" | "exec";

/** One process containerd knows by (id, exec id): its status and its exit. */
export class Proc {
  status: ProcStatus = "created";
  pid = 0;
  exitStatus = 0;
  exitedAt: Date | undefined;
  /** The exec's process (exec only), sent with ExecProcess at Start. */
  process: OciProcess | undefined;
  /** Stops copying stdin (CloseIO, exit). */
  closeInput: () => void = () => {};
  /** Resolves when the output pumps ended (so an exit is published after the last bytes). */
  outputDone: Promise<void> = Promise.resolve();
  private resolveExit!: () => void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void> = new Promise((r) => {
    this.resolveExit = r;
  });

  constructor(
    readonly id: string,
    readonly execId: string,
    readonly kind: ProcKind,
    readonly bundle: string,
    readonly stdio: StdioPaths,
  ) {}

  /** Records the exit once; false when it had already exited. */
  exit(status: number, at: Date = new Date()): boolean {
    if (this.status === "stopped") return false;
    this.status = "stopped";
    this.exitStatus = status;
    this.exitedAt = at;
    this.closeInput();
    this.resolveExit();
    return true;
  }
}
