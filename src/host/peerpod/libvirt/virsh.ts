/**
 * libvirt's API through `virsh` (Debian's libvirt-clients): one connection URI, a time limit on
 * every call, and libvirt's own error line in every failure.
 */
import { execFile } from "node:child_process";
import { HostError } from "../../errors.js";

/** Runs virsh commands against one libvirt connection. */
export interface Virsh {
  readonly uri: string;
  /** Runs `virsh -c URI -q <args>`; resolves stdout, rejects with libvirt's error line. */
  run(args: string[], timeoutMs?: number): Promise<string>;
  /** As run, but a failure whose message matches `ok` resolves undefined (e.g. "not found"). */
  tryRun(args: string[], ok: RegExp, timeoutMs?: number): Promise<string | undefined>;
}

/** A virsh runner for `uri` (`virsh` on PATH, or `binary`). */
export function createVirsh(uri: string, binary = "virsh"): Virsh {
  const run = (args: string[], timeoutMs = 120_000) =>
    new Promise<string>((resolve, reject) => {
      execFile(
        binary,
        ["-c", uri, "-q", ...args],
        { timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, LC_ALL: "C" } },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const why =
            stderr
              .split("\n")
              .map((l) => l.replace(/^error:\s*/, "").trim())
              .filter((l) => l !== "" && !/^Failed to (start|define|create)/.test(l))
              .join("; ") || err.message;
          reject(
            new HostError("ERR_PEERPOD_PROVIDER", `virsh ${args[0] ?? ""}: ${why}`, { cause: err }),
          );
        },
      );
    });
  return {
    uri,
    run,
    async tryRun(args, ok, timeoutMs) {
      try {
        return await run(args, timeoutMs);
      } catch (err) {
        if (ok.test((err as Error).message)) return undefined;
        throw err;
      }
    },
  };
}
