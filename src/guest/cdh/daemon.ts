/**
 * Runs the Confidential Data Hub: KBC (cc_kbc through AA, or offline_fs_kbc), credentials
 * provisioned at start, ocicrypt keyprovider config pointing back at itself, ttrpc service.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TtrpcServer } from "../../protocol/ttrpc/index.js";
import { CDH_BASE_DIR, type CdhConfig } from "./config.js";
import { provisionCredentials } from "./credentials.js";
import { type ConfidentialDataHub, createConfidentialDataHub } from "./hub.js";
import { createCcKbc } from "./kbc/cc-kbc.js";
import { createOfflineFsKbc, OFFLINE_FS_KBC_FILES } from "./kbc/offline-fs.js";
import type { ResourceGetter } from "./kbc/types.js";
import { registerCdhService } from "./service.js";

/** Options for {@link startConfidentialDataHub}. */
export interface CdhDaemonOptions {
  config: CdhConfig;
  /** Reuse Trustee tokens across requests (default true; false = upstream behaviour). */
  tokenCache?: boolean;
  baseDir?: string;
  sealedSecretKeyDir?: string;
  offlineFsFiles?: string[];
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** A running CDH. */
export interface RunningCdh {
  hub: ConfidentialDataHub;
  getter: ResourceGetter;
  socket: string;
  close(): Promise<void>;
}

/** Builds the KBC named by the config. */
export function createGetter(
  config: CdhConfig,
  opts: {
    tokenCache?: boolean;
    offlineFsFiles?: string[];
    env?: NodeJS.ProcessEnv;
    log?: (l: string) => void;
  } = {},
): ResourceGetter {
  if (config.kbc.name === "cc_kbc") {
    return createCcKbc({
      kbsUrl: config.kbc.url,
      ...(config.kbc.kbsCert ? { kbsCert: config.kbc.kbsCert } : {}),
      aaSocket: config.aaSocket,
      cache: opts.tokenCache ?? true,
    });
  }
  const extra = (opts.env ?? process.env).OFFLINE_FS_KBC_EXTRA_FILE_PATH;
  const files = [
    ...(opts.offlineFsFiles ?? OFFLINE_FS_KBC_FILES),
    ...(extra ? extra.split(",").filter((s) => s !== "") : []),
  ];
  return createOfflineFsKbc(files, opts.log);
}

/** Starts CDH. */
export async function startConfidentialDataHub(opts: CdhDaemonOptions): Promise<RunningCdh> {
  const log = opts.log ?? (() => {});
  const env = opts.env ?? process.env;
  const baseDir = opts.baseDir ?? CDH_BASE_DIR;
  const getter = createGetter(opts.config, { ...opts, env, log });
  await provisionCredentials(opts.config.credentials, getter, baseDir);
  if (env.OCICRYPT_KEYPROVIDER_CONFIG === undefined) {
    const path = join(baseDir, "ocicrypt_config.json");
    mkdirSync(baseDir, { recursive: true, mode: 0o700 });
    writeFileSync(
      path,
      JSON.stringify({ "key-providers": { "attestation-agent": { ttrpc: opts.config.socket } } }),
      { mode: 0o644 },
    );
    env.OCICRYPT_KEYPROVIDER_CONFIG = path;
  }
  const hub = createConfidentialDataHub({
    getter,
    skipSealedSecretVerification: opts.config.skipSealedSecretVerification,
    baseDir,
    ...(opts.sealedSecretKeyDir ? { sealedSecretKeyDir: opts.sealedSecretKeyDir } : {}),
  });
  const server = new TtrpcServer({
    onConnectionError: (e) => log(`confidential-data-hub: connection closed: ${e.message}`),
  });
  registerCdhService(server, hub);
  // The image pull service (`api.ImagePullService`), as upstream CDH serves it. Its module pulls
  // in the whole OCI pipeline, so it is loaded here rather than at import time.
  const image = await import("./image/index.js");
  image.registerImagePullService(
    server,
    image.createImagePullService({
      config: image.parseImagePullConfig(opts.config.image),
      getResource: (uri) => hub.getResource(uri),
      unwrapKey: image.keyproviderUnwrap((input) => hub.unwrapKey(input)),
      log,
    }),
  );
  await server.listen(opts.config.socket);
  log(`confidential-data-hub: ${getter.name}, listening on ${opts.config.socket}`);
  return {
    hub,
    getter,
    socket: opts.config.socket,
    async close() {
      await server.close();
      hub.close();
    },
  };
}
