/**
 * Starts a throwaway PostgreSQL 15 server (Debian's binaries) on a free loopback port in a temp
 * directory, as the `postgres` user when we are root (initdb refuses root), and stops it by PID.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/ports.js";
import { type RunningProcess, startProcess } from "../helpers/process.js";

/** Where Debian puts the server binaries. */
export const PG_BIN = "/usr/lib/postgresql/15/bin";

/** A skip reason when the PostgreSQL binaries are missing, else false. */
export const postgresSkip: string | false = existsSync(join(PG_BIN, "postgres"))
  ? false
  : `${PG_BIN}/postgres is absent (apt-get install postgresql)`;

/** A running test server. */
export interface TestPostgres {
  url: string;
  port: number;
  password: string;
  process: RunningProcess;
  /** Stops the server (SIGTERM, fast shutdown) and starts it again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function asPostgresUser(): string[] {
  return process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
}

/** initdb + postgres on 127.0.0.1:<free port>; password auth for user `coco`. */
export async function startPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "coco-pg-"));
  const data = join(dir, "data");
  const root = process.getuid?.() === 0;
  if (root) {
    const pw = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const password = randomBytes(12).toString("hex");
  const pwfile = join(dir, "pw");
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (root) spawnSync("chown", ["postgres", pwfile]);
  const pre = asPostgresUser();
  const init = spawnSync(
    pre[0] ?? join(PG_BIN, "initdb"),
    [
      ...pre.slice(1),
      ...(pre.length > 0 ? [join(PG_BIN, "initdb")] : []),
      "-D",
      data,
      "-U",
      "coco",
      "--auth=scram-sha-256",
      `--pwfile=${pwfile}`,
      "-E",
      "UTF8",
    ],
    { encoding: "utf8" },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr}`);
  }
  const port = await freePort();
  const cmd = pre.length > 0 ? pre[0]! : join(PG_BIN, "postgres");
  const args = [
    ...pre.slice(1),
    ...(pre.length > 0 ? [join(PG_BIN, "postgres")] : []),
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "max_connections=100",
    // Dynamic shared memory as files in the data folder (pg_dynshmem), not in /dev/shm: a
    // server killed before it cleans up (a test's watchdog) leaves nothing outside the folder.
    "-c",
    "dynamic_shared_memory_type=mmap",
  ];
  const start = async () => {
    const p = await startProcess({
      name: "postgres",
      command: cmd,
      args,
      ready: { kind: "tcp", port },
      timeoutMs: 30000,
    });
    // TCP accept can precede readiness for queries; pg_isready waits for the real thing.
    for (let i = 0; i < 100; i++) {
      const r = spawnSync(join(PG_BIN, "pg_isready"), ["-h", "127.0.0.1", "-p", String(port)]);
      if (r.status === 0) break;
      await new Promise((r2) => setTimeout(r2, 100));
    }
    return p;
  };
  // SIGTERM is a smart shutdown, which waits for every client (Trustee's pool) to leave, and
  // runuser does not wait for it: send the postmaster itself SIGINT (fast shutdown: clients
  // are disconnected) and wait until it is gone, then stop the wrapper.
  const shutdown = async () => {
    let pid: number | undefined;
    try {
      pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    } catch {
      pid = undefined; // not running
    }
    if (pid !== undefined && pid > 0) {
      try {
        process.kill(pid, "SIGINT");
        for (let i = 0; i < 300; i++) {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 50));
        }
      } catch {
        // gone
      }
    }
    await server.process.stop();
  };
  const server: TestPostgres = {
    url: `postgres://coco:${password}@127.0.0.1:${port}/postgres`,
    port,
    password,
    process: await start(),
    async restart() {
      await shutdown();
      server.process = await start();
    },
    async stop() {
      await shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
