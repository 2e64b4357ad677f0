/**
 * `coco trustee`: run Trustee (KBS + built-in AS + RVPS) from an upstream-layout KBS TOML config,
 * or with no config on 127.0.0.1:8080 with the embedded store under ./.coco/trustee and an
 * admin key generated there. `coco trustee admin-token` mints an admin JWT from a private key.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { createRegoPolicyEngine } from "../trustee/as/policy/rego-engine.js";
import { isTrusteeWorker, startTrusteePrimary, startTrusteeWorker } from "../trustee/cluster.js";
import { defaultTrusteeConfig, loadTrusteeConfig, type TrusteeConfig } from "../trustee/config.js";
import { DEFAULT_ADMIN_TOKEN_LIFETIME_SECS } from "../trustee/kbs/admin-auth.js";
import {
  generateAdminKeyPair,
  mintAdminToken,
  parsePrivateKeyPem,
} from "../trustee/kbs/admin-token.js";
import { startTrustee } from "../trustee/trustee.js";
import { registerTrusteeCollateral } from "./trustee-collateral.js";

/** Writes `data` to `path` with mode 0600 unless it exists; returns whether it was created. */
function writeSecretOnce(path: string, data: string | Uint8Array): boolean {
  if (existsSync(path)) return false;
  writeFileSync(path, data, { mode: 0o600, flag: "wx" });
  return true;
}

/**
 * The no-config setup: embedded store, persistent token signer and session key, and an admin
 * key pair (admin API open only to holders of tokens minted from it).
 */
export function prepareDefaultTrustee(dir: string): {
  config: TrusteeConfig;
  adminKeyPath: string;
} {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const adminKeyPath = join(dir, "admin-key.pem");
  const adminPubPath = join(dir, "admin-key.pub");
  if (!existsSync(adminKeyPath)) {
    const pair = generateAdminKeyPair();
    writeSecretOnce(adminKeyPath, pair.privateKeyPem);
    writeFileSync(adminPubPath, pair.publicKeyPem, { mode: 0o644 });
  }
  const signerPath = join(dir, "token-signer.pem");
  if (!existsSync(signerPath)) {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeSecretOnce(signerPath, privateKey.export({ format: "pem", type: "pkcs8" }).toString());
  }
  const sessionPath = join(dir, "session.key");
  writeSecretOnce(sessionPath, randomBytes(32).toString("hex"));
  const config = defaultTrusteeConfig(join(dir, "storage"));
  config.admin = {
    mode: "AuthenticatedAuthorization",
    identityProviders: [{ publicKeyUri: adminPubPath }],
    acls: [{ role: "admin", allowedEndpoints: "^/kbs/.+$" }],
  };
  config.attestationService.broker.signerKeyPath = signerPath;
  config.session.secretFile = sessionPath;
  return { config, adminKeyPath };
}

/**
 * Runs Trustee with `config` until SIGINT/SIGTERM: one process, or a primary and
 * `http_server.worker_count` workers sharing the sockets. Shared by `coco trustee` and the
 * upstream-named `kbs` binary.
 */
export async function serveTrustee(config: TrusteeConfig, adminHint?: string): Promise<void> {
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const deps = { config, policyEngine: createRegoPolicyEngine(), log };
  let running: { urls: string[]; close(): Promise<void> };
  if (config.http.workerCount > 1 && isTrusteeWorker()) {
    running = await startTrusteeWorker(deps);
  } else if (config.http.workerCount > 1) {
    running = await startTrusteePrimary(config, log);
    log(`trustee: ${config.http.workerCount} worker processes share the sockets`);
  } else {
    running = await startTrustee(deps);
  }
  if (!isTrusteeWorker()) {
    for (const url of running.urls) process.stdout.write(`trustee: listening on ${url}\n`);
    if (adminHint !== undefined) {
      process.stdout.write(
        `trustee: admin token: coco trustee admin-token --key ${adminHint} > admin.jwt\n` +
          `trustee: then: coco kbs-client --url ${running.urls[0]} config --admin-token-file admin.jwt set-resource --path default/key/1 --resource-file <file>\n`,
      );
    }
  }
  await new Promise<void>((done) => {
    const stop = () => {
      if (!isTrusteeWorker()) log("trustee: stopping");
      void running.close().then(done);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  // A worker's IPC channel to the primary would keep it alive, and the primary waits for its
  // workers to exit: without this a cluster-mode Trustee never stopped on SIGINT/SIGTERM.
  if (isTrusteeWorker() && process.connected) process.disconnect();
}

/** Registers `coco trustee`. */
export function registerTrustee(program: Command): void {
  const trustee = program
    .command("trustee")
    .description(
      "run Trustee: Key Broker Service + Attestation Service + RVPS (KBS protocol 0.4.0)",
    )
    .option("-c, --config <file>", "KBS config (upstream TOML layout); env KBS_CONFIG_FILE")
    .option("--dir <dir>", "state folder used without --config", "./.coco/trustee")
    .action(async (o: { config?: string; dir: string }) => {
      const file = o.config ?? process.env.KBS_CONFIG_FILE;
      let config: TrusteeConfig;
      let adminHint: string | undefined;
      if (file !== undefined) {
        config = loadTrusteeConfig(file);
      } else {
        const prepared = prepareDefaultTrustee(resolve(o.dir));
        config = prepared.config;
        adminHint = prepared.adminKeyPath;
      }
      await serveTrustee(config, adminHint);
    });

  registerTrusteeCollateral(trustee);

  trustee
    .command("admin-token")
    .description("mint an admin JWT (EdDSA/ES256/RS256 by key type) for the KBS admin API")
    .requiredOption("-k, --key <file>", "private key PEM (Ed25519, EC P-256/P-384 or RSA)")
    .option("--role <role>", "role claim", "admin")
    .option("--issuer <iss>", "iss claim (must match the identity provider's issuer if set)")
    .option("--audience <aud>", "aud claim")
    .option("--ttl <seconds>", "lifetime in seconds", "3600")
    .action(
      async (o: { key: string; role: string; issuer?: string; audience?: string; ttl: string }) => {
        const ttl = Number(o.ttl);
        if (!Number.isInteger(ttl) || ttl <= 0) throw new Error("--ttl must be a positive integer");
        if (ttl > DEFAULT_ADMIN_TOKEN_LIFETIME_SECS) {
          process.stderr.write(
            `coco trustee admin-token: note: Trustee refuses admin tokens living longer than [admin] max_token_lifetime_secs (default ${DEFAULT_ADMIN_TOKEN_LIFETIME_SECS})\n`,
          );
        }
        const key = parsePrivateKeyPem(readFileSync(o.key));
        const token = await mintAdminToken(key, {
          role: o.role,
          ttlSeconds: ttl,
          ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
          ...(o.audience !== undefined ? { audience: o.audience } : {}),
        });
        process.stdout.write(`${token}\n`);
      },
    );
}
