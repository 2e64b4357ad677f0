#!/usr/bin/env node
/**
 * `coco_keyprovider`: drop-in for guest-components' image-encryption key provider, the gRPC
 * keyprovider skopeo/ocicrypt call (`provider:attestation-agent:keyid=…::keypath=…`). Same
 * flags: `-s/--socket ip:port` (required), `-a/--auth-private-key <pem>` with `--kbs <url>`
 * (register each KEK in Trustee), `-d/--daemon`; `RUST_LOG`.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { storeKeyInTrustee } from "../../oci/kbs-admin.js";
import { startKeyProviderServer } from "../../oci/keyprovider/grpc-server.js";
import { createKeyWrapper } from "../../oci/keyprovider/wrap.js";
import { mintAdminToken, parsePrivateKeyPem } from "../../trustee/kbs/admin-token.js";
import { waitForSignal } from "../guest-common.js";
import { DropInError, dropInProgram, isMain, runDropIn, stderrLogger } from "./common.js";

/** Where `--daemon` puts the process's output and pid, as upstream. */
export const DAEMON_DIR = "/run/confidential-containers";

/** Checks `--socket` is an IP socket address (Rust `SocketAddr`: `1.2.3.4:5` or `[::1]:5`). */
export function parseSocketAddr(s: string): string {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) {
    throw new DropInError(
      "ERR_DROPIN_USAGE",
      `--socket ${JSON.stringify(s.slice(0, 80))}: invalid socket address syntax (ip:port, e.g. 127.0.0.1:50000)`,
    );
  }
  return s;
}

interface KpOptions {
  socket: string;
  authPrivateKey?: string;
  kbs?: string;
  daemon?: boolean;
}

/** Re-runs this program detached with output in DAEMON_DIR and its pid written there. */
function daemonize(argv: string[]): void {
  mkdirSync(DAEMON_DIR, { recursive: true });
  const out = openSync(`${DAEMON_DIR}/coco_keyprovider.out`, "w");
  const err = openSync(`${DAEMON_DIR}/coco_keyprovider.err`, "w");
  const args = argv.slice(1).filter((a) => a !== "-d" && a !== "--daemon");
  const child = spawn(process.execPath, args, {
    cwd: DAEMON_DIR,
    detached: true,
    stdio: ["ignore", out, err],
  });
  closeSync(out);
  closeSync(err);
  writeFileSync(`${DAEMON_DIR}/coco_keyprovider.pid`, `${child.pid}\n`);
  child.unref();
}

/** Builds the `coco_keyprovider` program. */
export function cocoKeyproviderProgram(env: NodeJS.ProcessEnv = process.env): Command {
  return dropInProgram("coco_keyprovider", "CoCo key provider (ocicrypt gRPC) for image encryption")
    .requiredOption(
      "-s, --socket <addr>",
      "Socket address (IP:port) to listen to, e.g. 127.0.0.1:50000",
    )
    .option(
      "-a, --auth-private-key <path>",
      "Private key that signs the admin token used to register KEKs in the KBS (with --kbs)",
    )
    .option("--kbs <url>", "Address of Key Broker Service (with --auth-private-key)")
    .option(
      "-d, --daemon",
      "run in the background (output and pid under /run/confidential-containers)",
    )
    .action(async (o: KpOptions) => {
      const socket = parseSocketAddr(o.socket);
      if (o.daemon) {
        daemonize(process.argv);
        return;
      }
      const log = stderrLogger("coco_keyprovider", undefined, env);
      let register: ((path: string, key: Uint8Array) => Promise<void>) | undefined;
      if (o.authPrivateKey !== undefined && o.kbs !== undefined) {
        const key = parsePrivateKeyPem(await readFile(o.authPrivateKey));
        const kbsUrl = o.kbs;
        register = async (path, kek) => {
          // Upstream signs a 2-hour token per registration and ignores the HTTP status; we
          // sign the same lifetime and fail the WrapKey when Trustee refuses the key.
          const adminToken = await mintAdminToken(key, { ttlSeconds: 7200 });
          await storeKeyInTrustee({ kbsUrl, kid: path, key: kek, adminToken });
        };
        log(`The encryption key will be registered to kbs: ${o.kbs}`);
      } else if (o.authPrivateKey !== undefined || o.kbs !== undefined) {
        log("KEKs are not registered: --kbs and --auth-private-key must both be given");
      }
      const server = await startKeyProviderServer({
        socket,
        wrap: createKeyWrapper({
          readKeyFile: (p) => readFile(p),
          ...(register ? { register } : {}),
          log,
        }),
        log,
      });
      log(`listening to socket addr: ${server.address}`);
      await waitForSignal(server.close);
    });
}

if (isMain(import.meta.url)) {
  await runDropIn("coco_keyprovider", cocoKeyproviderProgram());
}
