/**
 * What every KBS endpoint module shares: the dependencies, the body limit, counters, the
 * admin check and the helpers that turn failures into upstream's error variants.
 */
import type { IncomingMessage } from "node:http";
import type { HashAlgorithm } from "../../crypto/digest.js";
import { toKbsProtocolError } from "../../protocol/kbs/parse.js";
import { KBS_SESSION_COOKIE } from "../../protocol/kbs/types.js";
import {
  createJsonScanner,
  DEFAULT_JSON_LIMITS,
  ParseLimitError,
  parseScannedJson,
} from "../../protocol/limits/index.js";
import type { AttestationService } from "../as/service.js";
import type { EventRecorder } from "../events/index.js";
import type { KeyValueStore } from "../storage/types.js";
import { type AdminAuthorizer, type AdminIdentity, isAdminDenial } from "./admin-auth.js";
import type { DecisionRecorderOptions } from "./decisions.js";
import { KbsServerError, type KbsServerErrorCode } from "./errors.js";
import { dashboardCredential, readBody } from "./http.js";
import { createMetrics, type Metrics } from "./metrics.js";
import type { ReplayLedger } from "./replay.js";
import type { ResourcePolicy } from "./resource-policy.js";
import type { AdminRequirement } from "./routes.js";
import type { Session, SessionSealer } from "./session.js";
import type { SessionTokenStore } from "./session-tokens.js";
import type { TokenVerifier } from "./token-verifier.js";

/** Everything the KBS needs, passed in. */
export interface KbsDeps {
  attestationService: AttestationService;
  store: KeyValueStore;
  resourcePolicy: ResourcePolicy;
  admin: AdminAuthorizer;
  tokenVerifier: TokenVerifier;
  sessions: SessionSealer;
  replay: ReplayLedger;
  /** RCAR session lifetime in minutes (upstream `[attestation_service] timeout`, default 5). */
  sessionTimeoutMin?: number;
  /** Request body limit in bytes (default 2 MiB). */
  payloadLimitBytes?: number;
  /** Whether the `resource` plugin is enabled (upstream needs a `[[plugins]]` entry). */
  resourcePlugin?: boolean;
  /**
   * Run the resource JWE's ephemeral key and ECDH on libuv's thread pool (default false): for
   * a process with cores to spare (see `cryptoOffThread` in trustee.ts).
   */
  cryptoOffThread?: boolean;
  hashPreference?: readonly HashAlgorithm[];
  log?: (line: string) => void;
  /** Prometheus counters (default: a fresh set). */
  metrics?: Metrics;
  /** Where tokens too large for the cookie wait (default: this process's bounded memory). */
  sessionTokens?: SessionTokenStore;
  /** Where decisions are recorded as events (none: no events, no event API). */
  events?: EventRecorder;
  eventOptions?: DecisionRecorderOptions;
  /** Serve the dashboard (`dashboard.ts`; default true). */
  dashboard?: boolean;
}

/** The shared context of one KBS instance. */
export interface KbsContext {
  deps: KbsDeps;
  limit: number;
  log: (line: string) => void;
  metrics: Metrics;
  /** The Set-Cookie header carrying `s` sealed. */
  cookieHeader(s: Session): Record<string, string>;
  /**
   * Resolves when the Authorization header passes the admin check for the canonical `path`
   * (the admin middleware of the route table; handlers never call it themselves).
   */
  adminCheck(
    req: IncomingMessage,
    path: string,
    admin: AdminRequirement,
  ): Promise<AdminIdentity | undefined>;
  /**
   * Reads and parses a JSON body under the parse limits (at most `maxBytes`, default the
   * payload limit); failures become `code` with `prefix` in the detail.
   */
  jsonBody(
    req: IncomingMessage,
    code: KbsServerErrorCode,
    prefix: string,
    maxBytes?: number,
  ): Promise<unknown>;
}

/** A KbsServerError with `detail` as its ErrorInformation detail. */
export function err(code: KbsServerErrorCode, detail: string, cause?: unknown): KbsServerError {
  return new KbsServerError(code, detail, { cause });
}

/** Builds the context. */
export function createKbsContext(deps: KbsDeps): KbsContext {
  const limit = deps.payloadLimitBytes ?? 2 * 1024 * 1024;
  const log = deps.log ?? (() => {});
  // The Expires date has a resolution of one second: the last one formatted is reused.
  let expSecond = Number.NaN;
  let expText = "";
  const expires = (exp: number) => {
    const second = Math.floor(exp / 1000);
    if (second !== expSecond) {
      expText = new Date(second * 1000).toUTCString();
      expSecond = second;
    }
    return expText;
  };
  const cookieHeader = (s: Session) => ({
    "set-cookie": `${KBS_SESSION_COOKIE}=${deps.sessions.seal(s)}; Expires=${expires(s.exp)}`,
  });
  const adminCheck = async (
    req: IncomingMessage,
    path: string,
    { endpoint, plugin, browser }: AdminRequirement,
  ) => {
    try {
      const authorization =
        req.headers.authorization ?? (browser === true ? dashboardCredential(req) : undefined);
      return await deps.admin.check(authorization, path);
    } catch (e) {
      req.resume();
      const reason = isAdminDenial(e) ? e.message : "admin check failed";
      log(`kbs: admin access denied for ${endpoint}: ${reason}`);
      // Upstream reports plugin admin failures through the [admin] initialization variant.
      if (plugin) {
        throw err(
          "ERR_KBS_ADMIN_PLUGIN",
          `failed to initialize [admin] configuration: Admin access denied: ${reason}`,
        );
      }
      throw err(
        "ERR_KBS_ADMIN_ACCESS",
        `admin access denied for endpoint ${endpoint}: Admin access denied: ${reason}`,
      );
    }
  };

  // Limits enforced while the body arrives: a deep or key-heavy body is refused at the byte
  // where it breaks the limit, before JSON.parse does any work.
  const jsonBody = async (
    req: IncomingMessage,
    code: KbsServerErrorCode,
    prefix: string,
    maxBytes = limit,
  ) => {
    const max = Math.min(maxBytes, limit);
    const scanner = createJsonScanner({
      ...DEFAULT_JSON_LIMITS,
      maxBytes: max,
      maxStringBytes: max,
    });
    try {
      const bytes = await readBody(req, max, (c) => scanner.push(c));
      return parseScannedJson(bytes);
    } catch (e) {
      if (!(e instanceof ParseLimitError)) throw e;
      throw err(code, `${prefix}${(toKbsProtocolError(e) as Error).message}`, e);
    }
  };

  return {
    deps,
    limit,
    log,
    metrics: deps.metrics ?? createMetrics(),
    cookieHeader,
    adminCheck,
    jsonBody,
  };
}
