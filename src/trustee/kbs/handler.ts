/**
 * The KBS HTTP API (kbs/src/api_server.rs): one dispatcher under `/kbs/v0/` that routes the
 * RCAR handshake (`auth`, `attest`), the admin endpoints (`attestation-policy`,
 * `resource-policy`, `reference-value`) and the `resource` plugin, mapping every failure to
 * upstream's ErrorInformation and status (404 for unknown plugin, 401 for everything else,
 * 413 for an oversized body). Nothing here ever answers 5xx for bad input.
 */

import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { constantTimeEqualString } from "../../crypto/compare.js";
import type { HashAlgorithm } from "../../crypto/digest.js";
import { encryptForTeeKey } from "../../crypto/jwe.js";
import {
  isTee,
  parseJsonBytes,
  parseKbsAttestation,
  parseKbsRequest,
} from "../../protocol/kbs/parse.js";
import {
  deviceRuntimeData,
  primaryRuntimeData,
  selectHashAlgorithm,
} from "../../protocol/kbs/runtime-data.js";
import { KBS_PATH_PREFIX, KBS_SESSION_COOKIE } from "../../protocol/kbs/types.js";
import type { AttestationService, VerificationRequest } from "../as/service.js";
import type { KeyValueStore } from "../storage/types.js";
import { type AdminAuthorizer, isAdminDenial } from "./admin-auth.js";
import { KbsServerError, type KbsServerErrorCode } from "./errors.js";
import { getCookie, readBody, sendEmpty, sendError, sendJson } from "./http.js";
import { createMetrics, type Metrics } from "./metrics.js";
import type { ReplayLedger } from "./replay.js";
import { parseResourcePath } from "./resource-path.js";
import type { ResourcePolicy } from "./resource-policy.js";
import { newSessionId, type Session, type SessionSealer } from "./session.js";
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
  hashPreference?: readonly HashAlgorithm[];
  log?: (line: string) => void;
  /** Prometheus counters (default: a fresh set). */
  metrics?: Metrics;
}

const REPOSITORY = "repository";
/** Attested sessions whose token is too large for a cookie (upstream's session namespace). */
const SESSION_NAMESPACE = "kbs_protocol_session";
const B64URL_NOPAD = /^[A-Za-z0-9_-]*$/;

function err(code: KbsServerErrorCode, detail: string, cause?: unknown): KbsServerError {
  return new KbsServerError(code, detail, { cause });
}

function decodeB64UrlNoPad(s: unknown, what: string): string {
  if (typeof s !== "string" || !B64URL_NOPAD.test(s)) {
    throw err(
      "ERR_KBS_PARSE_POLICY",
      `Failed to parse policy: ${what} must be base64url without padding`,
    );
  }
  return Buffer.from(s, "base64url").toString("utf8");
}

/** A detail for a failed attestation that says which binding or rule failed. */
function attestDetail(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  const what: Record<string, string> = {
    ERR_VERIFIER_REPORT_DATA: "report-data binding failed",
    ERR_VERIFIER_INIT_DATA: "init-data binding failed",
    ERR_VERIFIER_EVIDENCE: "evidence is malformed",
    ERR_VERIFIER_SIGNATURE: "evidence signature is invalid",
    ERR_VERIFIER_CHAIN: "evidence certificate chain is invalid",
    ERR_VERIFIER_TCB: "TCB check failed",
    ERR_VERIFIER_COLLATERAL: "collateral check failed",
    ERR_VERIFIER_CONFIG: "verifier is not configured",
    ERR_VERIFIER_UNSUPPORTED: "evidence is not supported",
    ERR_AS_INIT_DATA: "init-data is invalid",
    ERR_AS_UNSUPPORTED_TEE: "TEE is not supported",
    ERR_AS_POLICY: "attestation policy failed",
    ERR_AS_POLICY_NOT_FOUND: "attestation policy missing",
    ERR_AS_TRUST_CLAIMS: "attestation policy output is invalid",
  };
  const label = typeof code === "string" ? (what[code] ?? code) : "internal error";
  return `Attestation error: RCAR handshake Attest failed: ${label}: ${msg}`;
}

/** The token's EAR verdicts, e.g. ` (token: cpu0 ear.status=warning)`, to help read a denial. */
function verdictOf(claims: Record<string, unknown>): string {
  const submods = claims.submods;
  if (typeof submods !== "object" || submods === null) return "";
  const parts = Object.entries(submods as Record<string, { "ear.status"?: unknown }>)
    .slice(0, 8)
    .map(
      ([name, sub]) =>
        `${name.slice(0, 32)} ear.status=${String(sub?.["ear.status"] ?? "none").slice(0, 32)}`,
    );
  return parts.length > 0 ? ` (token: ${parts.join(", ")})` : "";
}

/** Creates the request handler. */
export function createKbsHandler(
  deps: KbsDeps,
): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = deps.payloadLimitBytes ?? 2 * 1024 * 1024;
  const timeoutMs = (deps.sessionTimeoutMin ?? 5) * 60_000;
  const log = deps.log ?? (() => {});
  const resourcePlugin = deps.resourcePlugin ?? true;
  const as = deps.attestationService;
  const metrics = deps.metrics ?? createMetrics();

  const cookieHeader = (s: Session) => ({
    "set-cookie": `${KBS_SESSION_COOKIE}=${deps.sessions.seal(s)}; Expires=${new Date(s.exp).toUTCString()}`,
  });

  // Tokens up to this size travel in the sealed cookie; larger ones (hardware claims, event
  // logs) wait in the shared store so the cookie stays within common header limits.
  const inlineTokenMax = 2800;
  let nextSweep = Date.now() + 3600_000;
  const attestedSession = async (id: string, token: string, exp: number): Promise<Session> => {
    if (token.length <= inlineTokenMax) return { state: "attested", id, token, exp };
    const record = new TextEncoder().encode(JSON.stringify({ token, exp }));
    await deps.store.put(SESSION_NAMESPACE, id, record);
    if (Date.now() >= nextSweep) {
      nextSweep = Date.now() + 3600_000;
      void sweepSessions().catch(() => {});
    }
    return { state: "attested-ref", id, exp };
  };
  const tokenOf = async (s: Session): Promise<string | undefined> => {
    if (s.state === "attested") return s.token;
    if (s.state !== "attested-ref") return undefined;
    const raw = await deps.store.get(SESSION_NAMESPACE, s.id);
    if (raw === undefined) return undefined;
    const rec = JSON.parse(Buffer.from(raw).toString("utf8")) as { token: string; exp: number };
    return rec.exp > Date.now() ? rec.token : undefined;
  };
  const sweepSessions = async () => {
    const now = Date.now();
    for (const key of await deps.store.list(SESSION_NAMESPACE)) {
      const raw = await deps.store.get(SESSION_NAMESPACE, key);
      if (raw === undefined) continue;
      const rec = JSON.parse(Buffer.from(raw).toString("utf8")) as { exp: number };
      if (rec.exp <= now) await deps.store.delete(SESSION_NAMESPACE, key);
    }
  };

  const adminCheck = async (req: IncomingMessage, endpoint: string, plugin: boolean) => {
    try {
      await deps.admin.check(req.headers.authorization, req.url ?? "");
    } catch (e) {
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

  const jsonBody = async (req: IncomingMessage, code: KbsServerErrorCode, prefix: string) => {
    const bytes = await readBody(req, limit);
    try {
      return parseJsonBytes(bytes, limit);
    } catch (e) {
      throw err(code, `${prefix}${(e as Error).message}`, e);
    }
  };

  async function auth(req: IncomingMessage, res: ServerResponse) {
    const prefix = "Attestation error: RCAR handshake Auth failed: ";
    const body = await jsonBody(req, "ERR_KBS_ATTESTATION", prefix);
    let request: ReturnType<typeof parseKbsRequest>;
    let negotiated: ReturnType<typeof selectHashAlgorithm>;
    try {
      request = parseKbsRequest(body);
      negotiated =
        request.tee === "se"
          ? { algorithm: "sha512", extraParams: { "selected-hash-algorithm": "sha512" } }
          : selectHashAlgorithm(request["extra-params"], deps.hashPreference);
    } catch (e) {
      throw err("ERR_KBS_ATTESTATION", `${prefix}${(e as Error).message}`, e);
    }
    if (!as.tees.includes(request.tee)) {
      throw err(
        "ERR_KBS_ATTESTATION",
        `${prefix}TEE ${request.tee} is not supported by this Trustee (enabled: ${as.tees.join(", ")})`,
      );
    }
    const session: Session = {
      state: "authed",
      id: newSessionId(),
      tee: request.tee,
      nonce: randomBytes(32).toString("base64"),
      alg: negotiated.algorithm,
      exp: Date.now() + timeoutMs,
    };
    sendJson(
      res,
      200,
      { nonce: session.nonce, "extra-params": negotiated.extraParams },
      cookieHeader(session),
    );
  }

  async function attest(req: IncomingMessage, res: ServerResponse) {
    const prefix = "Attestation error: RCAR handshake Attest failed: ";
    const cookie = getCookie(req, KBS_SESSION_COOKIE);
    if (cookie === undefined) {
      req.resume();
      throw err(
        "ERR_KBS_ATTESTATION",
        `${prefix}no ${KBS_SESSION_COOKIE} cookie (call /auth first)`,
      );
    }
    const session = deps.sessions.open(cookie);
    if (typeof session === "string") {
      req.resume();
      throw err(
        "ERR_KBS_ATTESTATION",
        `${prefix}${session === "expired" ? "session expired" : "unknown session"} (call /auth again)`,
      );
    }
    const body = await jsonBody(req, "ERR_KBS_ATTESTATION", prefix);
    if (session.state !== "authed") {
      // Upstream returns the token it already issued for this session.
      const issued = await tokenOf(session);
      if (issued === undefined) {
        throw err("ERR_KBS_ATTESTATION", `${prefix}session expired (call /auth again)`);
      }
      sendJson(res, 200, { token: issued }, cookieHeader(session));
      return;
    }
    let attestation: ReturnType<typeof parseKbsAttestation>;
    try {
      attestation = parseKbsAttestation(body);
    } catch (e) {
      throw err("ERR_KBS_ATTESTATION", `${prefix}${(e as Error).message}`, e);
    }
    const rd = attestation["runtime-data"];
    if (!constantTimeEqualString(rd.nonce, session.nonce)) {
      throw err(
        "ERR_KBS_ATTESTATION",
        `${prefix}nonce mismatch: runtime-data.nonce is not the challenge of this session`,
      );
    }
    if (!(await deps.replay.claim(session.id, session.exp))) {
      throw err(
        "ERR_KBS_ATTESTATION",
        `${prefix}challenge already used (replayed attestation); call /auth again`,
      );
    }
    const initData = attestation["init-data"];
    if (initData !== null && initData !== undefined && initData.format !== "toml") {
      throw err("ERR_KBS_ATTESTATION", `${prefix}init-data format must be "toml"`);
    }
    const ev = attestation["tee-evidence"];
    const requests: VerificationRequest[] = [
      {
        tee: session.tee,
        evidence: ev.primary_evidence,
        runtimeData: {
          structured: primaryRuntimeData(rd.nonce, rd["tee-pubkey"], ev.additional_evidence),
        },
        ...(initData ? { initData: { toml: initData.body } } : {}),
        hashAlgorithm: session.alg,
      },
    ];
    if (ev.additional_evidence !== "") {
      let map: unknown;
      try {
        map = JSON.parse(ev.additional_evidence);
      } catch {
        throw err("ERR_KBS_ATTESTATION", `${prefix}tee-evidence.additional_evidence is not JSON`);
      }
      if (typeof map !== "object" || map === null || Array.isArray(map)) {
        throw err(
          "ERR_KBS_ATTESTATION",
          `${prefix}tee-evidence.additional_evidence must be a JSON object`,
        );
      }
      for (const [tee, evidence] of Object.entries(map)) {
        if (!isTee(tee))
          throw err(
            "ERR_KBS_ATTESTATION",
            `${prefix}additional evidence names unknown TEE ${JSON.stringify(tee.slice(0, 32))}`,
          );
        requests.push({
          tee,
          evidence,
          runtimeData: { structured: deviceRuntimeData(rd.nonce, rd["tee-pubkey"]) },
          hashAlgorithm: session.alg,
        });
      }
    }
    let token: string;
    try {
      token = (await as.evaluate(requests, ["default"])).token;
    } catch (e) {
      metrics.inc("kbs_attestation_failures_total", { tee_type: session.tee });
      log(`kbs: attestation refused: ${(e as { code?: string }).code ?? "error"}`);
      throw err("ERR_KBS_ATTESTATION", attestDetail(e), e);
    }
    const attested = await attestedSession(session.id, token, session.exp);
    metrics.inc("kbs_attestation_successes_total", { tee_type: session.tee });
    sendJson(res, 200, { token }, cookieHeader(attested));
  }

  async function getResource(
    req: IncomingMessage,
    res: ServerResponse,
    segments: string[],
    query: Record<string, string>,
  ) {
    let token: string | undefined;
    const cookie = getCookie(req, KBS_SESSION_COOKIE);
    if (cookie !== undefined) {
      const s = deps.sessions.open(cookie);
      if (typeof s !== "string" && s.state !== "authed") token = await tokenOf(s);
    }
    if (token === undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
      if (m !== null) token = m[1];
    }
    if (token === undefined) throw err("ERR_KBS_TOKEN_NOT_FOUND", "Attestation Token not found");
    const verified = await deps.tokenVerifier.verify(token);
    const path = parseResourcePath(segments);
    metrics.inc("kbs_policy_evaluations_total");
    const decision = await deps.resourcePolicy
      .evaluate(verified.claims, {
        plugin: "resource",
        "resource-path": segments,
        query,
      })
      .catch((e: unknown) => {
        metrics.inc("kbs_policy_errors_total");
        throw e;
      });
    metrics.inc(decision.allow ? "kbs_policy_approvals_total" : "kbs_policy_violations_total");
    if (!decision.allow) {
      throw err(
        "ERR_KBS_POLICY_DENY",
        `Access denied by policy: resource policy rule ${decision.reason ?? "denied"}${verdictOf(verified.claims)}`,
      );
    }
    let value: Uint8Array | undefined;
    try {
      value = await deps.store.get(REPOSITORY, path.key);
    } catch (e) {
      throw err("ERR_KBS_PLUGIN_INTERNAL", "Plugin internal error: resource storage failed", e);
    }
    if (value === undefined)
      throw err("ERR_KBS_PLUGIN_INTERNAL", "Plugin internal error: resource not found");
    let jwe: Awaited<ReturnType<typeof encryptForTeeKey>>;
    try {
      jwe = await encryptForTeeKey(verified.teePubkey, value);
    } catch (e) {
      throw err("ERR_KBS_JWE", `JWE failed: ${(e as Error).message}`, e);
    }
    metrics.inc("kbs_resource_reads_total", { resource_path: path.key });
    sendJson(res, 200, jwe);
  }

  async function resource(
    req: IncomingMessage,
    res: ServerResponse,
    segments: string[],
    query: Record<string, string>,
  ) {
    const method = req.method ?? "GET";
    if (method === "GET") return getResource(req, res, segments, query);
    if (method !== "POST" && method !== "DELETE")
      throw err("ERR_KBS_PLUGIN_NOT_FOUND", "Plugin resource not found");
    await adminCheck(req, "resource", true);
    const path = parseResourcePath(segments);
    if (method === "POST") {
      const body = await readBody(req, limit);
      try {
        await deps.store.put(REPOSITORY, path.key, body);
      } catch (e) {
        throw err("ERR_KBS_PLUGIN_INTERNAL", "Plugin internal error: resource storage failed", e);
      }
      metrics.inc("kbs_resource_writes_total", { resource_path: path.key });
      log(`kbs: resource ${path.key} written (${body.length} bytes)`);
      sendEmpty(res, 200, "text/xml");
      return;
    }
    req.resume();
    if (!(await deps.store.delete(REPOSITORY, path.key))) {
      throw err("ERR_KBS_PLUGIN_INTERNAL", "Plugin internal error: resource not found");
    }
    metrics.inc("kbs_resource_deletes_total", { resource_path: path.key });
    log(`kbs: resource ${path.key} deleted`);
    sendEmpty(res, 200);
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q >= 0 ? url.slice(0, q) : url;
    const query: Record<string, string> = {};
    if (q >= 0) for (const [k, v] of new URLSearchParams(url.slice(q + 1))) query[k] = v;
    const method = req.method ?? "GET";

    if (pathname === "/healthz" && method === "GET") return sendEmpty(res, 200);
    if (pathname === "/metrics") {
      if (method !== "GET") {
        res.writeHead(405, { allow: "GET", "content-length": "0" });
        res.end();
        return;
      }
      const body = Buffer.from(metrics.render());
      res.writeHead(200, {
        "content-type": "text/plain; version=0.0.4",
        "content-length": String(body.length),
      });
      res.end(body);
      return;
    }
    if (pathname === "/.well-known/jwks.json" && method === "GET")
      return sendJson(res, 200, as.broker.jwks());
    if (!pathname.startsWith(`${KBS_PATH_PREFIX}/`)) {
      req.resume();
      throw err(
        "ERR_KBS_INVALID_PATH",
        `Invalid request path ${JSON.stringify(pathname.slice(0, 64))}`,
      );
    }
    let segments: string[];
    try {
      segments = pathname
        .slice(KBS_PATH_PREFIX.length + 1)
        .split("/")
        .map(decodeURIComponent);
    } catch {
      throw err("ERR_KBS_INVALID_PATH", "Invalid request path: bad percent-encoding");
    }
    const [plugin = "", ...rest] = segments;

    if (plugin === "auth" && method === "POST") {
      metrics.inc("kbs_auth_requests_total");
      await auth(req, res).catch((e: unknown) => {
        metrics.inc("kbs_auth_errors_total");
        throw e;
      });
      metrics.inc("kbs_auth_successes_total");
      return;
    }
    if (plugin === "attest" && method === "POST") {
      metrics.inc("kbs_attestation_requests_total");
      return attest(req, res);
    }
    if (plugin === "attestation-policy" && method === "POST") {
      await adminCheck(req, "attestation-policy", false);
      const body = (await jsonBody(
        req,
        "ERR_KBS_ATTESTATION",
        "Attestation error: Set Attestation Policy failed: ",
      )) as Record<string, unknown> | null;
      try {
        const id = typeof body?.policy_id === "string" ? body.policy_id : "default_cpu";
        const text = decodeB64UrlNoPad(body?.policy, "policy");
        await as.policies.set(id, text);
        log(`kbs: attestation policy ${id} set`);
      } catch (e) {
        throw err(
          "ERR_KBS_ATTESTATION",
          `Attestation error: Set Attestation Policy failed: ${(e as Error).message}`,
          e,
        );
      }
      return sendEmpty(res, 200);
    }
    if (plugin === "resource-policy" && method === "POST") {
      await adminCheck(req, "resource-policy", false);
      const body = (await jsonBody(
        req,
        "ERR_KBS_PARSE_POLICY",
        "Failed to parse policy: ",
      )) as Record<string, unknown> | null;
      const text = decodeB64UrlNoPad(body?.policy, "policy");
      await deps.resourcePolicy.set(text);
      log("kbs: resource policy set");
      return sendEmpty(res, 200);
    }
    if (plugin === "resource-policy" && method === "GET") {
      await adminCheck(req, "resource-policy", false);
      return sendJson(res, 200, await deps.resourcePolicy.ids());
    }
    if (plugin === "reference-value" && method === "POST") {
      await adminCheck(req, "reference-value", false);
      const body = await jsonBody(req, "ERR_KBS_RVPS", "RVPS configuration failed: ");
      try {
        const names = await as.rvps.register(body);
        log(`kbs: reference values registered: ${names.length}`);
      } catch (e) {
        throw err("ERR_KBS_RVPS", `RVPS configuration failed: ${(e as Error).message}`, e);
      }
      return sendEmpty(res, 200, "application/json");
    }
    if (plugin === "reference-value" && method === "GET") {
      await adminCheck(req, "reference-value", false);
      try {
        return sendJson(res, 200, await as.rvps.query(rest.join("/")));
      } catch (e) {
        throw err("ERR_KBS_RVPS", `RVPS configuration failed: ${(e as Error).message}`, e);
      }
    }
    if (plugin === "resource" && resourcePlugin) return resource(req, res, rest, query);
    req.resume();
    throw err("ERR_KBS_PLUGIN_NOT_FOUND", `Plugin ${plugin.slice(0, 64)} not found`);
  }

  return (req, res) => {
    metrics.inc("kbs_http_requests_total");
    route(req, res).catch((e: unknown) => {
      if (e instanceof KbsServerError) {
        sendError(res, e);
        return;
      }
      // A bug, not bad input: say so without details.
      log(`kbs: internal error: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) sendJson(res, 500, { type: "about:blank", detail: "internal error" });
    });
  };
}
