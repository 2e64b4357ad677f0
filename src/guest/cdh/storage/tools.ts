/**
 * Runs the external storage tools (cryptsetup, mkfs.ext4, dd, mount) without a shell. Keys go
 * on stdin, never in argv; outputs are bounded; failures are ERR_CDH_TOOL with the tool's
 * stderr (which never contains the key, since the key never reaches argv or the environment).
 */
import { spawn } from "node:child_process";
import { CdhError } from "../errors.js";

/** Result of one tool run. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool; the seam tests and callers can wrap. */
export type ToolRunner = (
  cmd: string,
  args: readonly string[],
  stdin?: Uint8Array,
) => Promise<ToolResult>;

const MAX_OUTPUT = 256 << 10;

/** The default runner: spawn with a 5-minute limit. */
export const runTool: ToolRunner = (cmd, args, stdin) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      if (out.length < MAX_OUTPUT) out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      if (err.length < MAX_OUTPUT) err += c.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(
        new CdhError(
          "ERR_CDH_TOOL",
          `${cmd} could not run: ${(e as NodeJS.ErrnoException).code ?? e.message}`,
        ),
      );
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: out, stderr: err });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin ? Buffer.from(stdin) : undefined);
  });

/** Runs a tool and throws ERR_CDH_TOOL on a non-zero exit. */
export async function mustRun(
  run: ToolRunner,
  cmd: string,
  args: readonly string[],
  stdin?: Uint8Array,
): Promise<ToolResult> {
  const r = await run(cmd, args, stdin);
  if (r.code !== 0) {
    throw new CdhError(
      "ERR_CDH_TOOL",
      `${cmd} ${args[0] ?? ""} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 1000)}`,
    );
  }
  return r;
}
