import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { ProcessError, type RunningProcess, startProcess } from "./process.js";
import { makeTestTls } from "./tls.js";

/** The three shapes of registry the tests use. */
export type RegistryShape = "plain" | "basic-auth" | "tls";

/** A CNCF distribution registry started for one test. */
export interface TestRegistry {
  shape: RegistryShape;
  /** `127.0.0.1:PORT`, as used in image references. */
  host: string;
  /** `http://…` or `https://…` base URL. */
  url: string;
  /** PEM of the test CA (shape `tls`). */
  caPem?: string;
  /** Credentials (shape `basic-auth`). */
  username?: string;
  password?: string;
  /** Temporary folder holding config, storage, certificates. */
  dir: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

/** The path of Debian's `docker-registry` binary (the CNCF distribution registry). */
export const REGISTRY_BIN = "/usr/bin/docker-registry";

/**
 * Starts `docker-registry serve` on a free loopback port with a generated config in a temp
 * folder. `stop()` kills it by PID and removes the folder.
 */
export async function startRegistry(shape: RegistryShape = "plain"): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "coco-registry-"));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = [
    "version: 0.1",
    "log:",
    "  level: warn",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(dir, "storage")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: ${host}`,
    `  secret: ${randomBytes(16).toString("hex")}`,
  ];
  const reg: Partial<TestRegistry> = { shape, host, dir };
  if (shape === "tls") {
    const tls = await makeTestTls();
    writeFileSync(join(dir, "server.crt"), tls.certPem);
    writeFileSync(join(dir, "server.key"), tls.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, "ca.crt"), tls.caPem);
    lines.push(
      "  tls:",
      `    certificate: ${join(dir, "server.crt")}`,
      `    key: ${join(dir, "server.key")}`,
    );
    reg.caPem = tls.caPem;
  }
  if (shape === "basic-auth") {
    const username = "coco";
    const password = randomBytes(12).toString("hex");
    // htpasswd reads the password from stdin (-i) so it never appears in argv.
    const r = spawnSync("htpasswd", ["-niB", username], {
      input: `${password}\n`,
      encoding: "utf8",
    });
    if (r.error !== undefined || r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new ProcessError(
        "ERR_PROCESS_START",
        `htpasswd (apache2-utils) failed: ${r.error?.message ?? r.stderr}; run scripts/setup`,
      );
    }
    writeFileSync(join(dir, "htpasswd"), r.stdout, { mode: 0o600 });
    lines.push(
      "auth:",
      "  htpasswd:",
      "    realm: coco-test",
      `    path: ${join(dir, "htpasswd")}`,
    );
    reg.username = username;
    reg.password = password;
  }
  writeFileSync(join(dir, "config.yml"), `${lines.join("\n")}\n`);
  const scheme = shape === "tls" ? "https" : "http";
  reg.url = `${scheme}://${host}`;
  let proc: RunningProcess;
  try {
    proc = await startProcess({
      name: "docker-registry",
      command: REGISTRY_BIN,
      args: ["serve", join(dir, "config.yml")],
      ready: { kind: "tcp", port },
      env: { ...process.env, OTEL_TRACES_EXPORTER: "none" },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  reg.process = proc;
  reg.stop = async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return reg as TestRegistry;
}
