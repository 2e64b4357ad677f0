/**
 * Starts the guest stack over loopback as real processes: `coco trustee`, `coco aa run`,
 * `coco cdh run` (one or more) and `coco cdh api-server`, with an admin token and an
 * allow-resource policy. Used by the guest demo and `bench/cdh.ts`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
/** The compiled `coco` entry point. */
export const cocoCli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** A running stack. */
export interface GuestStack {
  dir: string;
  kbsUrl: string;
  aaSocket: string;
  /** CDH sockets by name. */
  cdhSockets: Record<string, string>;
  restUrl?: string;
  /** Uploads a resource through `coco kbs-client config set-resource`. */
  putResource(path: string, data: Uint8Array): Promise<void>;
  /** Runs `coco <args>` and returns stdout. */
  coco(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Options for {@link startGuestStack}. */
export interface GuestStackOptions {
  /** CDH instances to start: name → token cache on/off. */
  cdhs?: Record<string, { tokenCache: boolean }>;
  rest?: boolean;
  /** Token lifetime in minutes (default 5). */
  tokenMinutes?: number;
  log?: (line: string) => void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  child: ChildProcess,
  out: () => string,
): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited: ${out()}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not start: ${out()}`);
}

const tcpOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

/** Starts the stack in a fresh temp folder. */
export async function startGuestStack(opts: GuestStackOptions = {}): Promise<GuestStack> {
  const dir = mkdtempSync(join(tmpdir(), "coco-guest-"));
  const children: ChildProcess[] = [];
  const log = opts.log ?? (() => {});
  const spawnCoco = async (
    name: string,
    args: string[],
    ready: () => Promise<boolean> | boolean,
  ) => {
    const child = spawn(process.execPath, [cocoCli, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    const keep = (c: Buffer) => {
      out = (out + c.toString()).slice(-8000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    await waitFor(ready, name, child, () => out);
    log(`started ${name} (pid ${child.pid})`);
  };
  const coco = async (args: string[]) =>
    (await run(process.execPath, [cocoCli, ...args], { maxBuffer: 8 << 20 })).stdout;
  const stop = async () => {
    for (const c of children.reverse()) {
      if (c.exitCode === null && c.pid !== undefined) {
        const done = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        const t = setTimeout(() => c.kill("SIGKILL"), 3000);
        await done;
        clearTimeout(t);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const admin = generateKeyPairSync("ed25519");
    writeFileSync(join(dir, "admin.pub"), admin.publicKey.export({ format: "pem", type: "spki" }));
    writeFileSync(
      join(dir, "admin.pem"),
      admin.privateKey.export({ format: "pem", type: "pkcs8" }),
      { mode: 0o600 },
    );
    const port = await freePort();
    writeFileSync(
      join(dir, "kbs.toml"),
      [
        "[http_server]",
        `sockets = ["127.0.0.1:${port}"]`,
        "insecure_http = true",
        "[admin]",
        'authorization_mode = "AuthenticatedAuthorization"',
        "[admin.authentication.bearer_jwt]",
        `identity_providers = [{ issuer = "coco-guest", public_key_uri = "${join(dir, "admin.pub")}" }]`,
        "[admin.authorization.regex_acl]",
        'acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]',
        "[attestation_service]",
        "timeout = 5",
        "[attestation_service.attestation_token_broker]",
        `duration_min = ${opts.tokenMinutes ?? 5}`,
        "[storage_backend]",
        'storage_type = "LocalFs"',
        "[storage_backend.backends.local_fs]",
        `dir_path = "${join(dir, "store")}"`,
        "[[plugins]]",
        'name = "resource"',
        "",
      ].join("\n"),
    );
    const kbsUrl = `http://127.0.0.1:${port}`;
    await spawnCoco("trustee", ["trustee", "-c", join(dir, "kbs.toml")], () => tcpOpen(port));
    writeFileSync(
      join(dir, "admin.jwt"),
      await coco([
        "trustee",
        "admin-token",
        "--key",
        join(dir, "admin.pem"),
        "--issuer",
        "coco-guest",
      ]),
    );
    const adminArgs = [
      "kbs-client",
      "--url",
      kbsUrl,
      "config",
      "--admin-token-file",
      join(dir, "admin.jwt"),
    ];
    writeFileSync(
      join(dir, "allow.rego"),
      'package policy\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n\tdata.plugin == "resource"\n}\n',
    );
    await coco([...adminArgs, "set-resource-policy", "--policy-file", join(dir, "allow.rego")]);
    let n = 0;
    const putResource = async (path: string, data: Uint8Array) => {
      const f = join(dir, `upload-${n++}`);
      writeFileSync(f, data, { mode: 0o600 });
      await coco([...adminArgs, "set-resource", "--path", path, "--resource-file", f]);
      rmSync(f);
    };
    const aaSocket = `unix://${join(dir, "aa.sock")}`;
    writeFileSync(join(dir, "aa.toml"), `[token_configs.kbs]\nurl = "${kbsUrl}"\n`);
    await spawnCoco(
      "attestation-agent",
      [
        "aa",
        "run",
        "-a",
        aaSocket,
        "-c",
        join(dir, "aa.toml"),
        "--eventlog-dir",
        join(dir, "aael"),
      ],
      () => existsSync(join(dir, "aa.sock")),
    );
    const cdhSockets: Record<string, string> = {};
    for (const [name, c] of Object.entries(opts.cdhs ?? { cdh: { tokenCache: true } })) {
      const sock = join(dir, `${name}.sock`);
      const base = join(dir, `${name}-base`);
      mkdirSync(join(base, "sealed-secret"), { recursive: true });
      writeFileSync(
        join(dir, `${name}.toml`),
        `socket = "unix://${sock}"\n[aa]\naa_socket = "${aaSocket}"\n[kbc]\nname = "cc_kbc"\nurl = "${kbsUrl}"\n`,
      );
      await spawnCoco(
        `confidential-data-hub ${name}`,
        [
          "cdh",
          "run",
          "-c",
          join(dir, `${name}.toml`),
          "--base-dir",
          base,
          ...(c.tokenCache ? [] : ["--no-token-cache"]),
        ],
        () => existsSync(sock),
      );
      cdhSockets[name] = `unix://${sock}`;
    }
    let restUrl: string | undefined;
    if (opts.rest) {
      const restPort = await freePort();
      const first = Object.values(cdhSockets)[0] ?? "";
      await spawnCoco(
        "api-server-rest",
        [
          "cdh",
          "api-server",
          "--bind",
          `127.0.0.1:${restPort}`,
          "--features",
          "all",
          "--cdh_addr",
          first,
          "--aa_addr",
          aaSocket,
        ],
        () => tcpOpen(restPort),
      );
      restUrl = `http://127.0.0.1:${restPort}`;
    }
    return {
      dir,
      kbsUrl,
      aaSocket,
      cdhSockets,
      ...(restUrl ? { restUrl } : {}),
      putResource,
      coco,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
