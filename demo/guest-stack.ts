/**
 * Starts the guest stack over loopback as real processes: `coco trustee`, `coco aa run`,
 * `coco cdh run` (one or more) and `coco cdh api-server`, with an admin token and an
 * allow-resource policy. Used by the guest demo and `bench/cdh.ts`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/helpers/ports.js";
import { type Readiness, type RunningProcess, startProcess } from "../test/helpers/process.js";
import {
  cocoCli,
  startTrusteeProcess,
  type TrusteeProcess,
} from "../test/helpers/trustee-process.js";

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

/** Starts the stack in a fresh temp folder. */
export async function startGuestStack(opts: GuestStackOptions = {}): Promise<GuestStack> {
  const dir = mkdtempSync(join(tmpdir(), "coco-guest-"));
  const procs: RunningProcess[] = [];
  let trustee: TrusteeProcess | undefined;
  const log = opts.log ?? (() => {});
  const spawnCoco = async (name: string, args: string[], ready: Readiness) => {
    const p = await startProcess({
      name,
      command: process.execPath,
      args: [cocoCli, ...args],
      ready,
      timeoutMs: 20_000,
    });
    procs.push(p);
    log(`started ${name} (pid ${p.pid})`);
  };
  const stop = async () => {
    for (const p of procs.reverse()) await p.stop();
    await trustee?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    trustee = await startTrusteeProcess(dir, {
      issuer: "coco-guest",
      tokenMinutes: opts.tokenMinutes ?? 5,
    });
    log(`started trustee (pid ${trustee.pid})`);
    const kbsUrl = trustee.url;
    await trustee.allowAllResources();
    const putResource = trustee.putResource;
    const coco = trustee.coco;
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
      { kind: "file", path: join(dir, "aa.sock") },
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
        { kind: "file", path: sock },
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
        { kind: "tcp", port: restPort },
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
