/**
 * `coco trustee --config FILE`: upstream's KBS TOML layout (kbs/src/config.rs) for the keys
 * that apply here. Every key is checked: an unknown key, or one naming a feature we do not
 * implement, is ERR_TRUSTEE_CONFIG naming it. Our one addition is `[stateless_session]`
 * (`secret_file`, `replay_ledger`) for replicas that share no session store.
 */
import { readFileSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { CocoError } from "../errors.js";

/** Codes for configuration errors. */
export type TrusteeConfigErrorCode = "ERR_TRUSTEE_CONFIG";

/** A configuration file that cannot be used; the message names the key. */
export class TrusteeConfigError extends CocoError<TrusteeConfigErrorCode> {}

/** An identity provider as configured (paths/URIs not yet loaded). */
export interface IdentityProviderConfig {
  issuer?: string;
  audience?: string;
  publicKeyUri?: string;
  jwkSetUri?: string;
}

/** The parsed, defaulted configuration. */
export interface TrusteeConfig {
  http: {
    sockets: string[];
    insecureHttp: boolean;
    privateKey?: string;
    certificate?: string;
    payloadRequestSizeMiB: number;
    /** Worker processes sharing the sockets (upstream `worker_count`; default 1). */
    workerCount: number;
    tlsMinVersion?: "TLSv1.2" | "TLSv1.3";
    tlsMaxVersion?: "TLSv1.2" | "TLSv1.3";
    tlsCiphers?: string;
    tlsGroups?: string;
  };
  admin:
    | { mode: "InsecureAllowAll" }
    | { mode: "DenyAll" }
    | {
        mode: "AuthenticatedAuthorization";
        identityProviders: IdentityProviderConfig[];
        acls: { role: string; allowedEndpoints: string }[];
        /** Longest admin token lifetime accepted, seconds (ours; default one day). */
        maxTokenLifetimeSecs?: number;
      };
  attestationToken: {
    trustedJwkSets: string[];
    trustedCertsPaths: string[];
    insecureHeaderJwk: boolean;
    extraTeekeyPaths: string[];
  };
  attestationService: {
    timeoutMin: number;
    broker: {
      durationMin?: number;
      issuerName?: string;
      developerName?: string;
      buildName?: string;
      profileName?: string;
      signerKeyPath?: string;
      signerCertPath?: string;
      signerCertUrl?: string;
      verboseToken?: boolean;
    };
    verifierConfig: Record<string, unknown>;
    /** PEM public keys trusted to sign in-toto/SLSA reference-value provenance. */
    provenanceKeyPaths: string[];
  };
  storage:
    | { type: "Memory" }
    | { type: "LocalFs"; dirPath: string }
    | { type: "LocalJson"; dirPath: string }
    | {
        type: "Postgres";
        host?: string;
        port?: number;
        db?: string;
        username?: string;
        password?: string;
        url?: string;
      };
  resourcePlugin: boolean;
  session: {
    secretFile?: string;
    replayLedger: "memory" | "storage";
    /** Byte budget of attested-session tokens too large for the cookie (MiB, default 64). */
    tokenStoreMiB?: number;
  };
  /** Attestation events (ours, `[events]`); absent = defaults (on). */
  events?: EventsConfig;
}

/** `[events]`: where decisions are recorded (see docs/operations.md). */
export interface EventsConfig {
  /** Record events (default true). */
  enabled: boolean;
  /** Byte budget of stored events, all replicas together (MiB, default 64). */
  storeMiB: number;
  /** Events older than this are swept (days, default 30). */
  retentionDays: number;
  /** Peers (the load balancer) whose X-Forwarded-For names the client. */
  trustedProxies: string[];
}

type Table = Record<string, unknown>;

function fail(msg: string): never {
  throw new TrusteeConfigError("ERR_TRUSTEE_CONFIG", msg);
}

function table(v: unknown, where: string): Table {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) {
    fail(`${where} must be a table`);
  }
  return v as Table;
}

function only(t: Table, where: string, keys: readonly string[]): void {
  for (const k of Object.keys(t)) {
    if (!keys.includes(k)) fail(`unknown key ${where}${where ? "." : ""}${k}`);
  }
}

function str(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") fail(`${where} must be a string`);
  return v;
}

function bool(v: unknown, where: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") fail(`${where} must be true or false`);
  return v;
}

function num(v: unknown, where: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    fail(`${where} must be a positive number`);
  return v;
}

function strList(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    fail(`${where} must be a list of strings`);
  return v as string[];
}

const TLS_VERSION: Record<string, "TLSv1.2" | "TLSv1.3"> = { "1.2": "TLSv1.2", "1.3": "TLSv1.3" };

function storageType(v: unknown, where: string): "Memory" | "LocalFs" | "LocalJson" | "Postgres" {
  const s = str(v, where) ?? "Memory";
  const norm = s.toLowerCase().replaceAll("_", "");
  if (norm === "memory") return "Memory";
  if (norm === "localfs") return "LocalFs";
  if (norm === "postgres") return "Postgres";
  if (norm === "localjson") return "LocalJson";
  if (norm === "redis") {
    fail(`${where} = "${s}" is not implemented here; use LocalFs, LocalJson, Postgres or Memory`);
  }
  return fail(`${where}: unknown storage type "${s}"`);
}

/** The configuration used when `coco trustee` runs with no file. */
export function defaultTrusteeConfig(dir = "./.coco/trustee"): TrusteeConfig {
  return {
    http: {
      sockets: ["127.0.0.1:8080"],
      insecureHttp: true,
      payloadRequestSizeMiB: 2,
      workerCount: 1,
    },
    admin: { mode: "DenyAll" },
    attestationToken: {
      trustedJwkSets: [],
      trustedCertsPaths: [],
      insecureHeaderJwk: false,
      extraTeekeyPaths: [],
    },
    attestationService: { timeoutMin: 5, broker: {}, verifierConfig: {}, provenanceKeyPaths: [] },
    storage: { type: "LocalFs", dirPath: dir },
    resourcePlugin: true,
    session: { replayLedger: "memory" },
  };
}

/** Parses config text (TOML). */
export function parseTrusteeConfig(
  text: string,
  format: TrusteeConfigFormat = "toml",
): TrusteeConfig {
  let doc: Table;
  try {
    doc = (
      format === "json" ? JSON.parse(text) : format === "yaml" ? parseYaml(text) : parseToml(text)
    ) as Table;
  } catch (err) {
    fail(`config is not valid ${format.toUpperCase()}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    fail(`config is not a ${format.toUpperCase()} table`);
  }
  only(doc, "", [
    "http_server",
    "admin",
    "attestation_token",
    "attestation_service",
    "storage_backend",
    "session_storage_type",
    "plugins",
    "stateless_session",
    "events",
  ]);
  if (doc.http_server === undefined) fail("missing required table [http_server]");
  if (doc.admin === undefined) fail("missing required table [admin]");

  const h = table(doc.http_server, "http_server");
  only(h, "http_server", [
    "sockets",
    "insecure_http",
    "private_key",
    "certificate",
    "payload_request_size",
    "worker_count",
    "tls_profile",
    "tls_min_version",
    "tls_max_version",
    "tls_ciphers",
    "tls_groups",
  ]);
  const sockets =
    h.sockets === undefined ? ["127.0.0.1:8080"] : strList(h.sockets, "http_server.sockets");
  for (const s of sockets) {
    if (!/^(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):\d{1,5}$/.test(s))
      fail(`http_server.sockets: "${s}" is not <ip>:<port>`);
  }
  const insecureHttp = bool(h.insecure_http, "http_server.insecure_http", false);
  const privateKey = str(h.private_key, "http_server.private_key");
  const certificate = str(h.certificate, "http_server.certificate");
  if (!insecureHttp && (privateKey === undefined || certificate === undefined)) {
    fail("http_server: HTTPS needs private_key and certificate (or set insecure_http = true)");
  }
  const profile = str(h.tls_profile, "http_server.tls_profile");
  if (profile !== undefined && !["old", "intermediate", "modern", "custom"].includes(profile)) {
    fail(`http_server.tls_profile: unknown profile "${profile}"`);
  }
  const tlsVer = (k: string) => {
    const v = str(h[k], `http_server.${k}`);
    if (v === undefined) return undefined;
    return TLS_VERSION[v] ?? fail(`http_server.${k} must be "1.2" or "1.3"`);
  };
  const http: TrusteeConfig["http"] = {
    sockets,
    insecureHttp,
    payloadRequestSizeMiB: num(h.payload_request_size, "http_server.payload_request_size") ?? 2,
    workerCount: num(h.worker_count, "http_server.worker_count") ?? 1,
  };
  if (!Number.isInteger(http.workerCount) || http.workerCount > 256) {
    fail("http_server.worker_count must be an integer from 1 to 256");
  }
  if (privateKey !== undefined) http.privateKey = privateKey;
  if (certificate !== undefined) http.certificate = certificate;
  const minV = tlsVer("tls_min_version") ?? (profile === "modern" ? "TLSv1.3" : undefined);
  const maxV = tlsVer("tls_max_version");
  if (minV !== undefined) http.tlsMinVersion = minV;
  if (maxV !== undefined) http.tlsMaxVersion = maxV;
  const ciphers = str(h.tls_ciphers, "http_server.tls_ciphers");
  const groups = str(h.tls_groups, "http_server.tls_groups");
  if (ciphers !== undefined) http.tlsCiphers = ciphers;
  if (groups !== undefined) http.tlsGroups = groups;

  const a = table(doc.admin, "admin");
  const mode = str(a.authorization_mode, "admin.authorization_mode") ?? "InsecureAllowAll";
  let admin: TrusteeConfig["admin"];
  if (mode === "InsecureAllowAll" || mode === "DenyAll") {
    only(a, "admin", ["authorization_mode"]);
    admin = { mode };
  } else if (mode === "AuthenticatedAuthorization") {
    only(a, "admin", [
      "authorization_mode",
      "authentication",
      "authorization",
      "max_token_lifetime_secs",
    ]);
    const authn = table(a.authentication, "admin.authentication");
    only(authn, "admin.authentication", ["bearer_jwt"]);
    const bj = table(authn.bearer_jwt, "admin.authentication.bearer_jwt");
    only(bj, "admin.authentication.bearer_jwt", ["identity_providers"]);
    const ips = bj.identity_providers;
    if (!Array.isArray(ips) || ips.length === 0)
      fail("admin.authentication.bearer_jwt.identity_providers needs at least one entry");
    const identityProviders = ips.map((ip, i) => {
      const w = `admin.authentication.bearer_jwt.identity_providers[${i}]`;
      const t = table(ip, w);
      only(t, w, ["issuer", "audience", "public_key_uri", "jwk_set_uri"]);
      const out: IdentityProviderConfig = {};
      const issuer = str(t.issuer, `${w}.issuer`);
      const audience = str(t.audience, `${w}.audience`);
      const pk = str(t.public_key_uri, `${w}.public_key_uri`);
      const js = str(t.jwk_set_uri, `${w}.jwk_set_uri`);
      if (pk === undefined && js === undefined) fail(`${w} needs public_key_uri or jwk_set_uri`);
      if (issuer !== undefined) out.issuer = issuer;
      if (audience !== undefined) out.audience = audience;
      if (pk !== undefined) out.publicKeyUri = pk;
      if (js !== undefined) out.jwkSetUri = js;
      return out;
    });
    const authz = table(a.authorization, "admin.authorization");
    only(authz, "admin.authorization", ["regex_acl"]);
    const ra = table(authz.regex_acl, "admin.authorization.regex_acl");
    only(ra, "admin.authorization.regex_acl", ["acls"]);
    const acls = (Array.isArray(ra.acls) ? ra.acls : []).map((e, i) => {
      const w = `admin.authorization.regex_acl.acls[${i}]`;
      const t = table(e, w);
      only(t, w, ["role", "allowed_endpoints"]);
      return {
        role: str(t.role, `${w}.role`) ?? fail(`${w}.role is required`),
        allowedEndpoints: str(t.allowed_endpoints, `${w}.allowed_endpoints`) ?? "",
      };
    });
    admin = { mode, identityProviders, acls };
    const life = num(a.max_token_lifetime_secs, "admin.max_token_lifetime_secs");
    if (life !== undefined) {
      if (!(life > 0)) fail("admin.max_token_lifetime_secs must be positive");
      admin.maxTokenLifetimeSecs = life;
    }
  } else {
    fail(
      `admin.authorization_mode: unknown mode "${mode}" (InsecureAllowAll, DenyAll, AuthenticatedAuthorization)`,
    );
  }

  const t = table(doc.attestation_token, "attestation_token");
  only(t, "attestation_token", [
    "trusted_certs_paths",
    "trusted_jwk_sets",
    "extra_teekey_paths",
    "insecure_header_jwk",
  ]);
  const attestationToken = {
    trustedJwkSets: strList(t.trusted_jwk_sets, "attestation_token.trusted_jwk_sets"),
    trustedCertsPaths: strList(t.trusted_certs_paths, "attestation_token.trusted_certs_paths"),
    insecureHeaderJwk: bool(t.insecure_header_jwk, "attestation_token.insecure_header_jwk", false),
    extraTeekeyPaths: strList(t.extra_teekey_paths, "attestation_token.extra_teekey_paths"),
  };

  const s = table(doc.attestation_service, "attestation_service");
  const asType = str(s.type, "attestation_service.type") ?? "coco_as_builtin";
  if (asType !== "coco_as_builtin" && asType !== "CoCoASBuiltIn") {
    fail(`attestation_service.type = "${asType}" is not implemented; only coco_as_builtin`);
  }
  only(s, "attestation_service", [
    "type",
    "timeout",
    "attestation_token_broker",
    "rvps_config",
    "verifier_config",
    "storage_type",
  ]);

  if (s.storage_type !== undefined)
    fail("attestation_service.storage_type is not supported: the AS uses [storage_backend]");
  const b = table(s.attestation_token_broker, "attestation_service.attestation_token_broker");
  only(b, "attestation_service.attestation_token_broker", [
    "type",
    "duration_min",
    "issuer_name",
    "developer_name",
    "build_name",
    "profile_name",
    "signer",
    "verbose_token",
  ]);
  if (b.type !== undefined && b.type !== "Ear")
    fail(
      `attestation_service.attestation_token_broker.type = "${String(b.type)}": only Ear tokens exist`,
    );
  const signer = table(b.signer, "attestation_service.attestation_token_broker.signer");
  only(signer, "attestation_service.attestation_token_broker.signer", [
    "key_path",
    "cert_path",
    "cert_url",
  ]);
  const broker: TrusteeConfig["attestationService"]["broker"] = {};
  const bw = "attestation_service.attestation_token_broker";
  const setIf = <K extends keyof typeof broker>(k: K, v: (typeof broker)[K] | undefined) => {
    if (v !== undefined) broker[k] = v;
  };
  setIf("durationMin", num(b.duration_min, `${bw}.duration_min`));
  setIf("issuerName", str(b.issuer_name, `${bw}.issuer_name`));
  setIf("developerName", str(b.developer_name, `${bw}.developer_name`));
  setIf("buildName", str(b.build_name, `${bw}.build_name`));
  setIf("profileName", str(b.profile_name, `${bw}.profile_name`));
  setIf("signerKeyPath", str(signer.key_path, `${bw}.signer.key_path`));
  setIf("signerCertPath", str(signer.cert_path, `${bw}.signer.cert_path`));
  setIf("signerCertUrl", str(signer.cert_url, `${bw}.signer.cert_url`));
  if (b.verbose_token !== undefined)
    broker.verboseToken = bool(b.verbose_token, `${bw}.verbose_token`, true);
  const rv = table(s.rvps_config, "attestation_service.rvps_config");
  if (rv.type !== undefined && rv.type !== "BuiltIn")
    fail(
      `attestation_service.rvps_config.type = "${String(rv.type)}": only BuiltIn is implemented`,
    );
  only(rv, "attestation_service.rvps_config", ["type", "extractors", "storage_type"]);
  if (rv.storage_type !== undefined)
    fail(
      "attestation_service.rvps_config.storage_type is not supported: RVPS uses [storage_backend]",
    );
  const ex = table(rv.extractors, "attestation_service.rvps_config.extractors");
  for (const k of Object.keys(ex)) {
    if (k !== "in_toto") {
      fail(`attestation_service.rvps_config.extractors.${k} is not implemented (only in_toto)`);
    }
  }
  const itWhere = "attestation_service.rvps_config.extractors.in_toto";
  const it = table(ex.in_toto, itWhere);
  only(it, itWhere, ["trusted_keys"]);
  const provenanceKeyPaths = strList(it.trusted_keys, `${itWhere}.trusted_keys`);

  const sb = table(doc.storage_backend, "storage_backend");
  only(sb, "storage_backend", ["storage_type", "backends"]);
  const backends = table(sb.backends, "storage_backend.backends");
  only(backends, "storage_backend.backends", ["local_fs", "local_json", "postgres", "redis"]);
  const st = storageType(sb.storage_type, "storage_backend.storage_type");
  let storage: TrusteeConfig["storage"];
  if (st === "LocalJson") {
    const lj = table(backends.local_json, "storage_backend.backends.local_json");
    only(lj, "storage_backend.backends.local_json", ["file_dir_path"]);
    storage = {
      type: st,
      dirPath:
        str(lj.file_dir_path, "storage_backend.backends.local_json.file_dir_path") ??
        "/opt/confidential-containers/storage/local_json",
    };
  } else if (st === "LocalFs") {
    const lf = table(backends.local_fs, "storage_backend.backends.local_fs");
    only(lf, "storage_backend.backends.local_fs", ["dir_path"]);
    storage = {
      type: st,
      dirPath:
        str(lf.dir_path, "storage_backend.backends.local_fs.dir_path") ??
        "/opt/confidential-containers/storage/local_fs",
    };
  } else if (st === "Postgres") {
    const pg = table(backends.postgres, "storage_backend.backends.postgres");
    only(pg, "storage_backend.backends.postgres", ["host", "port", "db", "username", "password"]);
    const w = "storage_backend.backends.postgres";
    storage = { type: st };
    const host = str(pg.host, `${w}.host`);
    const port = num(pg.port, `${w}.port`);
    const db = str(pg.db, `${w}.db`);
    const username = str(pg.username, `${w}.username`);
    const password = str(pg.password, `${w}.password`);
    if (host !== undefined) storage.host = host;
    if (port !== undefined) storage.port = port;
    if (db !== undefined) storage.db = db;
    if (username !== undefined) storage.username = username;
    if (password !== undefined) storage.password = password;
    if (process.env.POSTGRES_URL) storage.url = process.env.POSTGRES_URL;
  } else {
    storage = { type: "Memory" };
  }
  if (http.workerCount > 1 && (storage.type === "Memory" || storage.type === "LocalJson")) {
    fail(
      "http_server.worker_count > 1 needs storage several processes can share: set [storage_backend] storage_type to LocalFs or Postgres",
    );
  }
  // Sessions live sealed in the cookie, so no session storage is used; the key is accepted
  // (upstream configs set it) but must name a storage type upstream knows.
  if (doc.session_storage_type !== undefined) {
    const v = str(doc.session_storage_type, "session_storage_type") ?? "";
    if (!/^(memory|local_?fs|local_?json|postgres|redis)$/i.test(v)) {
      fail(`session_storage_type: unknown storage type "${v}"`);
    }
  }

  let resourcePlugin = false;
  const plugins = doc.plugins ?? [];
  if (!Array.isArray(plugins)) fail("plugins must be an array of tables ([[plugins]])");
  plugins.forEach((p, i) => {
    const w = `plugins[${i}]`;
    const pt = table(p, w);
    const name = str(pt.name, `${w}.name`);
    if (name !== "resource")
      fail(`${w}.name = "${String(name)}": only the resource plugin is implemented`);
    only(pt, w, ["name", "storage_backend_type"]);
    const sbt = str(pt.storage_backend_type, `${w}.storage_backend_type`) ?? "kvstorage";
    if (sbt !== "kvstorage")
      fail(`${w}.storage_backend_type = "${sbt}": only kvstorage is implemented`);
    resourcePlugin = true;
  });

  const ss = table(doc.stateless_session, "stateless_session");
  only(ss, "stateless_session", ["secret_file", "replay_ledger", "token_store_mib"]);
  const ledger = str(ss.replay_ledger, "stateless_session.replay_ledger") ?? "memory";
  if (ledger !== "memory" && ledger !== "storage")
    fail(`stateless_session.replay_ledger must be "memory" or "storage"`);
  const session: TrusteeConfig["session"] = { replayLedger: ledger };
  const sf = str(ss.secret_file, "stateless_session.secret_file");
  if (sf !== undefined) session.secretFile = sf;
  const tsm = num(ss.token_store_mib, "stateless_session.token_store_mib");
  if (tsm !== undefined) {
    if (!(tsm > 0)) fail("stateless_session.token_store_mib must be positive");
    session.tokenStoreMiB = tsm;
  }

  const ev = table(doc.events, "events");
  only(ev, "events", ["enabled", "store_mib", "retention_days", "trusted_proxies"]);
  const events: EventsConfig = {
    enabled: bool(ev.enabled, "events.enabled", true),
    storeMiB: num(ev.store_mib, "events.store_mib") ?? 64,
    retentionDays: num(ev.retention_days, "events.retention_days") ?? 30,
    trustedProxies: strList(ev.trusted_proxies, "events.trusted_proxies"),
  };
  for (const p of events.trustedProxies) {
    if (!/^[0-9A-Fa-f:.]{2,45}$/.test(p))
      fail(`events.trusted_proxies: ${JSON.stringify(p)} is not an IP address`);
  }

  return {
    events,
    http,
    admin,
    attestationToken,
    attestationService: {
      timeoutMin: num(s.timeout, "attestation_service.timeout") ?? 5,
      broker,
      verifierConfig: table(s.verifier_config, "attestation_service.verifier_config"),
      provenanceKeyPaths,
    },
    storage,
    resourcePlugin,
    session,
  };
}

/** Config file formats upstream's `config` crate reads and we accept. */
export type TrusteeConfigFormat = "toml" | "json" | "yaml";

/** The format of a config file by its extension, as upstream (TOML when there is none). */
export function trusteeConfigFormat(path: string): TrusteeConfigFormat {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext === undefined || ext === "toml" || ext === "conf") return "toml";
  if (ext === "json") return "json";
  if (ext === "yaml" || ext === "yml") return "yaml";
  return fail(`config file ${path}: unsupported format .${ext} (toml, json, yaml, yml)`);
}

/** Reads and parses a config file (TOML, JSON or YAML by extension). */
export function loadTrusteeConfig(path: string): TrusteeConfig {
  const format = trusteeConfigFormat(path);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new TrusteeConfigError("ERR_TRUSTEE_CONFIG", `cannot read config file ${path}`, {
      cause: err,
    });
  }
  return parseTrusteeConfig(text, format);
}
