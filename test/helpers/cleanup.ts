import { readdirSync, readFileSync, rmSync } from "node:fs";

/**
 * Pids of the processes (other than this one) whose command line names `dir`: a VM's qemu (its
 * console, sockets and disks live in the sandbox's state folder), the agent mux, a registry or
 * Trustee whose config lives there. Linux only (reads /proc).
 */
export function processesNaming(dir: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return pids;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "latin1").includes(dir)) pids.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Kills (SIGKILL) every process naming `dir`, then removes `dir`. Returns the pids killed. */
export function reapFolder(dir: string): number[] {
  const pids = processesNaming(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return pids;
}

const folders = new Set<string>();
let hooked = false;

function reapAll(): void {
  for (const dir of folders) reapFolder(dir);
  folders.clear();
}

/**
 * Makes sure nothing a test file started under `dir` outlives it: on exit, and on the SIGTERM or
 * SIGINT with which the test runner ends a file that timed out or was cancelled (detached VMs
 * would otherwise survive it), every process naming `dir` is killed and `dir` removed. Returns
 * the function to call in `after()` for the same cleanup at the normal end.
 */
export function cleanUpOnExit(dir: string): () => void {
  folders.add(dir);
  if (!hooked) {
    hooked = true;
    process.once("exit", reapAll);
    for (const [sig, n] of [
      ["SIGTERM", 15],
      ["SIGINT", 2],
    ] as const) {
      process.once(sig, () => {
        reapAll();
        // exit (not the default action) so other exit hooks run (test/helpers/process.ts).
        process.exit(128 + n);
      });
    }
  }
  return () => {
    folders.delete(dir);
    reapFolder(dir);
  };
}
