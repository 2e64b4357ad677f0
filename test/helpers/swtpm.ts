import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { freePort } from "./ports.js";
import { type RunningProcess, startProcess } from "./process.js";

/** A skip reason when swtpm is not installed, otherwise false. */
export function swtpmSkip(): string | false {
  try {
    execFileSync("swtpm", ["--version"], { stdio: "pipe" });
    return false;
  } catch {
    return "swtpm is not installed";
  }
}

/** A running software TPM: its command port on 127.0.0.1 (control channel on `port + 1`). */
export interface Swtpm {
  port: number;
  process: RunningProcess;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * Starts `swtpm socket --tpm2` on a free loopback port with its state in `stateDir`, already
 * initialised and started up. The control channel sits on `port + 1`, where tpm2-tss's swtpm
 * TCTI expects it, so both ports are checked free.
 */
export async function startSwtpm(stateDir: string): Promise<Swtpm> {
  let port = await freePort();
  for (let i = 0; i < 20 && (port >= 65535 || !(await portFree(port + 1))); i++) {
    port = await freePort();
  }
  const proc = await startProcess({
    name: "swtpm",
    command: "swtpm",
    args: [
      "socket",
      "--tpm2",
      "--server",
      `type=tcp,port=${port},bindaddr=127.0.0.1`,
      "--ctrl",
      `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
      "--tpmstate",
      `dir=${stateDir}`,
      "--flags",
      "not-need-init,startup-clear",
    ],
    ready: { kind: "tcp", port },
  });
  return { port, process: proc };
}
