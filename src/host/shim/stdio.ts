/**
 * A task's stdio through the FIFOs (or files) containerd hands over in Create/Exec
 * (runtime-v2.md "I/O"). Output comes from the agent's ReadStdout/ReadStderr and is written to
 * the FIFO only as far as the pod's policy lets the host read it: a denied read drains the
 * guest pipe and returns nothing (CoCo ≥ 0.13), so `crictl logs` shows nothing either.
 * Input is read from the stdin FIFO and sent with WriteStdin (refused unless the policy allows).
 */
import { once } from "node:events";
import { closeSync, constants, createReadStream, openSync, type WriteStream } from "node:fs";
import { open } from "node:fs/promises";
import type { AgentClient } from "../runtime/agent-client.js";

/** The stdio paths of one process (empty = not connected). */
export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** What the output pumps reported. */
export interface OutputResult {
  stdout: "eof" | "denied" | "none";
  stderr: "eof" | "denied" | "none";
}

/** Strips containerd's `fifo://`/`file://` scheme; other schemes (binary logging) are refused. */
export function stdioPath(uri: string): string {
  if (uri === "") return "";
  const m = /^([a-z0-9+.-]+):\/\/(.*)$/.exec(uri);
  if (!m) return uri;
  if (m[1] === "fifo" || m[1] === "file") return m[2] as string;
  throw new Error(`stdio scheme ${m[1]}:// is not supported (fifo and file are)`);
}

/**
 * FIFO opens still waiting for their other end. Opening a FIFO blocks (in libuv's thread pool)
 * until the peer opens it; a peer that never does (`ctr run` leaves the stdin FIFO unopened when
 * it has nothing to send) would hold a pool thread, and with it the process's exit, forever.
 */
const pending = new Map<symbol, { path: string; reader: boolean }>();

/** Wakes a blocked open of `path` by opening the other end without blocking, then closing it. */
function wake(path: string, reader: boolean): void {
  try {
    closeSync(
      openSync(path, (reader ? constants.O_WRONLY : constants.O_RDONLY) | constants.O_NONBLOCK),
    );
  } catch {
    // gone, or the open already completed
  }
}

/** Ends every FIFO open still waiting for its peer (at task delete and shim shutdown). */
export function releasePendingOpens(): void {
  for (const p of pending.values()) wake(p.path, p.reader);
  pending.clear();
}

async function openWriter(path: string): Promise<WriteStream> {
  // O_WRONLY waits (in libuv's thread pool) until the reader — containerd's or CRI's copier,
  // which opened its end before Create — is there; a regular file (file://) is appended to.
  const key = Symbol(path);
  pending.set(key, { path, reader: false });
  try {
    const fh = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    // The stream owns the FileHandle itself: a stream on its bare fd leaves the handle to the
    // garbage collector, which closes the fd under the stream (EBADF, the last output lost).
    return fh.createWriteStream({ autoClose: true });
  } finally {
    pending.delete(key);
  }
}

/**
 * Pumps a process's output from the agent to its FIFOs until EOF. Resolves when both streams
 * ended (the process exited and its pipes drained).
 */
export async function pumpOutput(
  agent: AgentClient,
  containerId: string,
  execId: string,
  paths: StdioPaths,
  log: (line: string) => void,
): Promise<OutputResult> {
  const one = async (stream: "stdout" | "stderr", path: string) => {
    if (path === "") return "none" as const;
    let out: WriteStream;
    try {
      out = await openWriter(stdioPath(path));
    } catch (err) {
      log(`${containerId} ${stream}: cannot open ${path}: ${(err as Error).message}`);
      return "none" as const;
    }
    out.on("error", (err) => log(`${containerId} ${stream}: ${err.message}`));
    try {
      const how = await agent.pump(containerId, execId, stream, (chunk) => {
        out.write(chunk);
      });
      if (how === "denied")
        log(`${containerId} ${stream}: hidden from the host by the pod's policy`);
      return how;
    } catch (err) {
      log(`${containerId} ${stream}: ${(err as Error).message}`);
      return "eof" as const;
    } finally {
      out.end();
      await once(out, "close").catch(() => undefined);
    }
  };
  const [stdout, stderr] = await Promise.all([
    one("stdout", paths.stdout),
    one("stderr", paths.stderr),
  ]);
  return { stdout, stderr };
}

/**
 * Copies the stdin FIFO to the process with WriteStdin, then CloseStdin at EOF. A policy that
 * denies writing stdin stops the copy (logged) and leaves the process's stdin open.
 */
export function pumpInput(
  agent: AgentClient,
  containerId: string,
  execId: string,
  path: string,
  log: (line: string) => void,
): { close(): void } {
  if (path === "") return { close() {} };
  const file = stdioPath(path);
  const key = Symbol(file);
  pending.set(key, { path: file, reader: true });
  const input = createReadStream(file);
  input.once("open", () => pending.delete(key));
  input.once("close", () => pending.delete(key));
  let stopped = false;
  void (async () => {
    try {
      for await (const chunk of input) {
        if (stopped) break;
        await agent.writeStdin(containerId, execId, chunk as Buffer);
      }
      if (!stopped) await agent.closeStdin(containerId, execId);
    } catch (err) {
      log(`${containerId} stdin: ${(err as Error).message}`);
    } finally {
      input.destroy();
    }
  })();
  return {
    close() {
      stopped = true;
      if (pending.delete(key)) wake(file, true);
      input.destroy();
    },
  };
}
