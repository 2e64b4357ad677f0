/**
 * Composition root of Trustee: builds storage, RVPS, the Attestation Service, the KBS handler
 * and its listeners from a {@link TrusteeConfig}. I/O that the libraries below must not do
 * (reading key files, fetching JWKS, binding sockets) happens here.
 */

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import type { JSONWebKeySet } from "../crypto/jose.js";
import type { PolicyEngine } from "./as/policy/engine.js";
import { createAttestationPolicyStore } from "./as/policy/store.js";
import { type AttestationService, createAttestationService } from "./as/service.js";
import { createEarBroker } from "./as/token/ear-broker.js";
import type { HttpGet } from "./as/verifier/snp/index.js";
import type { Verifier } from "./as/verifier/types.js";
import {
  COLLATERAL_MAX_BYTES,
  type CollateralCache,
  type CollateralFetch,
  createCollateralCache,
} from "./collateral/index.js";
import { type TrusteeConfig, TrusteeConfigError } from "./config.js";
import { createEventRecorder, type EventRecorder } from "./events/index.js";
import {
  type AdminConfig,
  createAdminAuthorizer,
  type IdentityProvider,
  parsePublicKeyPem,
} from "./kbs/admin-auth.js";
import { createKbsHandler } from "./kbs/handler.js";
import {
  createMemoryReplayLedger,
  createStoreReplayLedger,
  type ReplayLedger,
} from "./kbs/replay.js";
import { createResourcePolicy } from "./kbs/resource-policy.js";
import { createSessionSealer } from "./kbs/session.js";
import { createMemorySessionTokens, createSharedSessionTokens } from "./kbs/session-tokens.js";
import { createTokenVerifier } from "./kbs/token-verifier.js";
import { parseCertBundle } from "./kbs/x5c.js";
import { createRvps } from "./rvps/rvps.js";
import { createCachedStore } from "./storage/cache.js";
import { createFileStore } from "./storage/file.js";
import { createLocalJsonStore } from "./storage/local-json.js";
import { createMemoryStore } from "./storage/memory.js";
import { createPostgresStore } from "./storage/postgres.js";
import type { KeyValueStore } from "./storage/types.js";
import { createVerifiersFromConfig } from "./verifiers.js";

/** What {@link createTrustee} needs besides the config. */
export interface TrusteeDeps {
  config: TrusteeConfig;
  policyEngine: PolicyEngine;
  /** Verifiers to enable (default: from `verifier_config`, see `verifiers.ts`). */
  verifiers?: Verifier[];
  /** HTTP GET for a configured AMD KDS VCEK source (default: {@link collateralGet}). */
  httpGet?: HttpGet;
  /** The network behind the collateral cache (default: {@link collateralGet}). */
  collateralFetch?: CollateralFetch;
  log?: (line: string) => void;
  /** A store to use instead of the configured one (tests, benchmarks). */
  store?: KeyValueStore;
  /** Shared secrets handed down by a primary process to its workers. */
  shared?: { sessionKey: Uint8Array; signerKeyPem: string };
  /** A replay ledger to use instead of the configured one (the primary's, for workers). */
  replay?: ReplayLedger;
}

/** A built Trustee, not yet listening. */
export interface Trustee {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  attestationService: AttestationService;
  store: KeyValueStore;
  /** Fetched collateral (VCEKs, AMD chains, Intel TCB Info/QE Identity/CRLs), persisted in `store`. */
  collateral: CollateralCache;
  /** Attestation events (absent with `[events] enabled = false`). */
  events?: EventRecorder;
  close(): Promise<void>;
}

/** A listening Trustee. */
export interface RunningTrustee extends Trustee {
  /** Base URLs, one per socket (`http://127.0.0.1:8080`). */
  urls: string[];
}

/**
 * Whether a Trustee process runs its handshake's public-key crypto (the token's ES256
 * signature, the resource JWE's ephemeral key and ECDH) on libuv's thread pool: when there
 * are fewer worker processes than cores, the pool's threads use a core no process's event loop
 * keeps busy (one process on this 2-core bench machine: its event loop spent ~0.1 ms less per
 * handshake, docs/performance.md "KBS"). When every core runs a worker, a hop to the pool only
 * adds wake-ups (each job costs the machine more CPU than doing it inline), so it runs inline.
 */
export function cryptoOffThread(workerCount: number, cores = availableParallelism()): boolean {
  return workerCount < cores;
}

/** Namespaces read on every request, whose reads are cached for shared backends. */
const CACHED_NAMESPACES = ["repository", "kbs", "attestation_service_policy"];

function fail(msg: string, cause?: unknown): never {
  throw new TrusteeConfigError("ERR_TRUSTEE_CONFIG", msg, { cause });
}

/** GET for collateral (KDS, PCS, CRLs): 30 s deadline, at most 1 MiB read; body and headers. */
export const collateralGet: CollateralFetch = async (url) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (res.status !== 200 || res.body === null) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > COLLATERAL_MAX_BYTES)
      throw new Error(`GET ${url}: more than ${COLLATERAL_MAX_BYTES} bytes`);
    chunks.push(chunk);
  }
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    headers[k.toLowerCase()] = v;
  });
  return { body: new Uint8Array(Buffer.concat(chunks)), headers };
};

/** GET for AMD KDS: 30 s deadline, at most 64 KiB read (a VCEK is under 2 KiB). */
export async function kdsGet(url: string): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (res.status !== 200 || res.body === null) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error(`GET ${url}: more than 64 KiB`);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

async function readUri(uri: string, what: string): Promise<Uint8Array> {
  if (uri.startsWith("https://")) {
    let res: Response;
    try {
      res = await fetch(uri, { signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      fail(`${what}: cannot fetch ${uri}`, err);
    }
    if (!res.ok) fail(`${what}: ${uri} answered HTTP ${res.status}`);
    const buf = new Uint8Array(await res.arrayBuffer());
    if (buf.length > 1024 * 1024) fail(`${what}: ${uri} is larger than 1 MiB`);
    return buf;
  }
  if (uri.startsWith("http://")) fail(`${what}: ${uri} must be https:// or a file`);
  const path = uri.startsWith("file://") ? new URL(uri).pathname : uri;
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    return fail(`${what}: cannot read ${path}`, err);
  }
}

async function readJwks(uri: string, what: string): Promise<JSONWebKeySet> {
  const parse = (b: Uint8Array): unknown => {
    try {
      return JSON.parse(Buffer.from(b).toString("utf8"));
    } catch {
      return undefined;
    }
  };
  let doc = parse(await readUri(uri, what)) as { keys?: unknown; jwks_uri?: unknown } | undefined;
  if (!Array.isArray(doc?.keys) && uri.startsWith("https://")) {
    const disc = parse(
      await readUri(`${uri.replace(/\/$/, "")}/.well-known/openid-configuration`, what),
    ) as { jwks_uri?: unknown } | undefined;
    if (typeof disc?.jwks_uri === "string")
      doc = parse(await readUri(disc.jwks_uri, what)) as typeof doc;
  }
  if (!Array.isArray(doc?.keys)) fail(`${what}: ${uri} is not a JWK set`);
  return doc as JSONWebKeySet;
}

async function adminConfig(cfg: TrusteeConfig["admin"]): Promise<AdminConfig> {
  if (cfg.mode !== "AuthenticatedAuthorization") return cfg;
  const identityProviders: IdentityProvider[] = [];
  for (const [i, ip] of cfg.identityProviders.entries()) {
    const what = `admin identity provider ${i}`;
    const p: IdentityProvider = {};
    if (ip.issuer !== undefined) p.issuer = ip.issuer;
    if (ip.audience !== undefined) p.audience = ip.audience;
    if (ip.publicKeyUri !== undefined)
      p.publicKeys = [parsePublicKeyPem(await readUri(ip.publicKeyUri, what), what)];
    if (ip.jwkSetUri !== undefined) p.jwks = await readJwks(ip.jwkSetUri, what);
    identityProviders.push(p);
  }
  return {
    mode: cfg.mode,
    identityProviders,
    acls: cfg.acls,
    ...(cfg.maxTokenLifetimeSecs !== undefined
      ? { maxTokenLifetimeSecs: cfg.maxTokenLifetimeSecs }
      : {}),
  };
}

/** The session key from `[stateless_session] secret_file`, or a random one. */
export function sessionKey(file: string | undefined): Uint8Array {
  if (file === undefined) return randomBytes(32);
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    return fail(`stateless_session.secret_file: cannot read ${file}`, err);
  }
  if (raw.length === 32) return new Uint8Array(raw);
  const text = raw.toString("utf8").trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text, "hex"));
  const b = Buffer.from(text, "base64");
  if (b.length === 32) return new Uint8Array(b);
  return fail("stateless_session.secret_file must hold 32 bytes (raw, 64 hex digits or base64)");
}

function isLoopback(socket: string): boolean {
  const host = socket.slice(0, socket.lastIndexOf(":"));
  return host === "localhost" || host === "[::1]" || /^127\./.test(host);
}

/** Builds Trustee from its config. */
export async function createTrustee(deps: TrusteeDeps): Promise<Trustee> {
  const { config } = deps;
  const log = deps.log ?? (() => {});
  if (config.admin.mode === "InsecureAllowAll") {
    const open = config.http.sockets.filter((s) => !isLoopback(s));
    if (open.length > 0) {
      fail(
        `[admin] authorization_mode = "InsecureAllowAll" is refused on non-loopback sockets (${open.join(", ")})`,
      );
    }
    log(
      "trustee: WARNING: admin API is open to anyone on this host (InsecureAllowAll); use only for local testing",
    );
  }
  const admin = createAdminAuthorizer(await adminConfig(config.admin));
  const trustedCerts = [];
  for (const path of config.attestationToken.trustedCertsPaths) {
    const certs = parseCertBundle(
      Buffer.from(await readUri(path, "attestation_token.trusted_certs_paths")).toString("utf8"),
    );
    if (certs.length === 0)
      fail(`attestation_token.trusted_certs_paths: no certificate in ${path}`);
    trustedCerts.push(...certs);
  }
  const trustedJwkSets: JSONWebKeySet[] = [];
  for (const uri of config.attestationToken.trustedJwkSets)
    trustedJwkSets.push(await readJwks(uri, "attestation_token.trusted_jwk_sets"));

  const store = deps.store ?? (await openTrusteeStore(config, log));

  const offThread = cryptoOffThread(config.http.workerCount);
  const broker = createEarBroker({
    ...config.attestationService.broker,
    ...(deps.shared !== undefined ? { signerKeyPem: deps.shared.signerKeyPem } : {}),
    signOffThread: offThread,
  });
  const provenanceKeys = [];
  for (const path of config.attestationService.provenanceKeyPaths) {
    provenanceKeys.push(
      parsePublicKeyPem(
        await readUri(path, "rvps in_toto trusted key"),
        `rvps in_toto trusted key ${path}`,
      ),
    );
  }
  const rvps = createRvps(store, { provenanceKeys });
  // Every collateral fetch goes through one persisted, coalescing, rate-limited cache.
  const httpGet = deps.httpGet;
  const collateral = createCollateralCache({
    store,
    fetch:
      deps.collateralFetch ??
      (httpGet ? async (url) => ({ body: await httpGet(url), headers: {} }) : collateralGet),
    log,
  });
  const attestationService = createAttestationService({
    verifiers:
      deps.verifiers ??
      createVerifiersFromConfig(config.attestationService.verifierConfig, {
        log,
        httpGet: collateral.getBody,
        httpGetWithHeaders: collateral.get,
      }),
    policies: createAttestationPolicyStore(store, deps.policyEngine),
    broker,
    rvps,
  });
  const tokenBudget = Math.round((config.session.tokenStoreMiB ?? 64) * 1024 * 1024);
  const ev = config.events;
  const events =
    ev?.enabled === false
      ? undefined
      : createEventRecorder({
          store,
          storeBytes: Math.round((ev?.storeMiB ?? 64) * 1024 * 1024),
          retentionMs: Math.round((ev?.retentionDays ?? 30) * 24 * 3600 * 1000),
          log,
        });
  const handler = createKbsHandler({
    attestationService,
    store,
    resourcePolicy: await createResourcePolicy(store, deps.policyEngine),
    admin,
    tokenVerifier: createTokenVerifier({
      ownKeys: [broker.publicKey],
      trustedJwkSets,
      insecureHeaderJwk: config.attestationToken.insecureHeaderJwk,
      trustedCerts,
      extraTeekeyPaths: config.attestationToken.extraTeekeyPaths,
    }),
    sessions: createSessionSealer(deps.shared?.sessionKey ?? sessionKey(config.session.secretFile)),
    replay:
      deps.replay ??
      (config.session.replayLedger === "storage"
        ? createStoreReplayLedger(store)
        : createMemoryReplayLedger()),
    // Tokens too large for the cookie: in this process's memory unless other processes must
    // open its sessions (a shared session key), then in the shared store. Bounded either way.
    sessionTokens:
      deps.shared !== undefined || config.session.secretFile !== undefined
        ? createSharedSessionTokens(store, { maxBytes: tokenBudget })
        : createMemorySessionTokens({ maxBytes: tokenBudget }),
    sessionTimeoutMin: config.attestationService.timeoutMin,
    payloadLimitBytes: Math.round(config.http.payloadRequestSizeMiB * 1024 * 1024),
    resourcePlugin: config.resourcePlugin,
    cryptoOffThread: offThread,
    log,
    ...(events !== undefined
      ? { events, eventOptions: { trustedProxies: ev?.trustedProxies ?? [] } }
      : {}),
  });
  return {
    handler,
    attestationService,
    store,
    collateral,
    ...(events !== undefined ? { events } : {}),
    async close() {
      await events?.close();
      await store.close();
    },
  };
}

/** Opens the store a config names (as Trustee does), e.g. for `coco trustee collateral`. */
export async function openTrusteeStore(
  config: TrusteeConfig,
  log?: (line: string) => void,
): Promise<KeyValueStore> {
  if (config.storage.type === "Memory") return createMemoryStore();
  // Shared backends: cache the reads every request makes (writes from other replicas are seen
  // within 1 s; see docs/trustee.md).
  return createCachedStore(
    config.storage.type === "LocalFs"
      ? await createFileStore(config.storage.dirPath, { log })
      : config.storage.type === "LocalJson"
        ? await createLocalJsonStore(config.storage.dirPath, { log })
        : await createPostgresStore(config.storage),
    { namespaces: CACHED_NAMESPACES },
  );
}

/** Builds Trustee and listens on every configured socket (port 0 picks a free port). */
export async function startTrustee(deps: TrusteeDeps): Promise<RunningTrustee> {
  const trustee = await createTrustee(deps);
  const { http } = deps.config;
  const servers: Server[] = [];
  const urls: string[] = [];
  try {
    for (const socket of http.sockets) {
      const i = socket.lastIndexOf(":");
      const host = socket.slice(0, i).replace(/^\[|\]$/g, "");
      const port = Number(socket.slice(i + 1));
      const opts = {
        maxHeaderSize: 64 * 1024,
        requestTimeout: 30_000,
        headersTimeout: 15_000,
        keepAliveTimeout: 5_000,
      };
      const server: Server = http.insecureHttp
        ? createHttpServer(opts, trustee.handler)
        : (createHttpsServer(
            {
              ...opts,
              key: readFileSync(http.privateKey as string),
              cert: readFileSync(http.certificate as string),
              ...(http.tlsMinVersion ? { minVersion: http.tlsMinVersion } : {}),
              ...(http.tlsMaxVersion ? { maxVersion: http.tlsMaxVersion } : {}),
              ...(http.tlsCiphers ? { ciphers: http.tlsCiphers } : {}),
              ...(http.tlsGroups ? { ecdhCurve: http.tlsGroups } : {}),
            },
            trustee.handler,
          ) as unknown as Server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      servers.push(server);
      const addr = server.address() as AddressInfo;
      const h = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
      urls.push(`${http.insecureHttp ? "http" : "https"}://${h}:${addr.port}`);
    }
  } catch (err) {
    for (const s of servers) s.close();
    await trustee.close();
    fail(`cannot listen: ${(err as Error).message}`, err);
  }
  return {
    ...trustee,
    urls,
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      await trustee.close();
    },
  };
}
