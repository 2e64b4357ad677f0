/**
 * The RCAR handshake endpoints (`POST /kbs/v0/auth`, `POST /kbs/v0/attest`) and the attested
 * session's token: protocol 0.4.0 as upstream's KBS implements it, with sealed stateless
 * sessions, single-use challenges and details that name the failed binding.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { constantTimeEqualString } from "../../crypto/compare.js";
import { checkTeePublicKey } from "../../crypto/jwe.js";
import { pooledRandomBytes } from "../../crypto/random-pool.js";
import { isTee, parseKbsAttestation, parseKbsRequest } from "../../protocol/kbs/parse.js";
import {
  deviceRuntimeData,
  primaryRuntimeData,
  selectHashAlgorithm,
} from "../../protocol/kbs/runtime-data.js";
import { KBS_SESSION_COOKIE } from "../../protocol/kbs/types.js";
import { DEFAULT_JSON_LIMITS, parseJsonLimited } from "../../protocol/limits/index.js";
import type { VerificationRequest } from "../as/service.js";
import { err, type KbsContext } from "./context.js";
import { getCookie, sendJson } from "./http.js";
import type { DecisionNote, Route } from "./routes.js";
import { newSessionId, type Session } from "./session.js";
import { createMemorySessionTokens } from "./session-tokens.js";

/** Largest /auth body: a Request is about 150 bytes; extra-params is read for one list. */
export const MAX_AUTH_BODY = 64 * 1024;
/** Largest token issued (init-data is at most 256 KiB; hardware claims add some KiB). */
export const MAX_TOKEN_CHARS = 1024 * 1024;

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

/** The handshake endpoints and the token lookup the resource plugin shares. */
export interface RcarHandlers {
  auth(req: IncomingMessage, res: ServerResponse, note?: DecisionNote): Promise<void>;
  attest(req: IncomingMessage, res: ServerResponse, note?: DecisionNote): Promise<void>;
  /** The token an attested session holds, or undefined (not attested, expired, swept). */
  tokenOf(s: Session): Promise<string | undefined>;
}

/** Creates the handshake endpoints. */
export function createRcarHandlers(ctx: KbsContext): RcarHandlers {
  const { deps, metrics, log, cookieHeader, jsonBody } = ctx;
  const as = deps.attestationService;
  const timeoutMs = (deps.sessionTimeoutMin ?? 5) * 60_000;
  const jsonLimits = { ...DEFAULT_JSON_LIMITS, maxBytes: ctx.limit, maxStringBytes: ctx.limit };

  // Tokens up to this size travel in the sealed cookie; larger ones (hardware claims, event
  // logs, a large agent policy) wait in the bounded token store (`session-tokens.ts`).
  const inlineTokenMax = 2800;
  const tokens = deps.sessionTokens ?? createMemorySessionTokens();
  const attestedSession = async (id: string, token: string, exp: number): Promise<Session> => {
    if (token.length <= inlineTokenMax) return { state: "attested", id, token, exp };
    await tokens.put(id, exp, token);
    return { state: "attested-ref", id, exp };
  };
  const tokenOf = async (s: Session): Promise<string | undefined> => {
    if (s.state === "attested") return s.token;
    if (s.state !== "attested-ref") return undefined;
    return tokens.get(s.id, s.exp);
  };

  async function auth(req: IncomingMessage, res: ServerResponse, note: DecisionNote = {}) {
    const prefix = "Attestation error: RCAR handshake Auth failed: ";
    const body = await jsonBody(req, "ERR_KBS_ATTESTATION", prefix, MAX_AUTH_BODY);
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
    note.tee = request.tee;
    if (!as.tees.includes(request.tee)) {
      throw err(
        "ERR_KBS_ATTESTATION",
        `${prefix}TEE ${request.tee} is not supported by this Trustee (enabled: ${as.tees.join(", ")})`,
      );
    }
    const session: Session = {
      state: "authed",
      id: deps.replay.newSessionId?.() ?? newSessionId(),
      tee: request.tee,
      nonce: pooledRandomBytes(32).toString("base64"),
      alg: negotiated.algorithm,
      exp: Date.now() + timeoutMs,
    };
    // Handing out a challenge decides nothing; only a refused /auth is an event.
    note.quiet = true;
    sendJson(
      res,
      200,
      { nonce: session.nonce, "extra-params": negotiated.extraParams },
      cookieHeader(session),
    );
  }

  async function attest(req: IncomingMessage, res: ServerResponse, note: DecisionNote = {}) {
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
    note.session = session.id;
    if (session.state === "authed") note.tee = session.tee;
    const body = await jsonBody(req, "ERR_KBS_ATTESTATION", prefix);
    if (session.state !== "authed") {
      // Upstream returns the token it already issued for this session.
      const issued = await tokenOf(session);
      if (issued === undefined) {
        throw err("ERR_KBS_ATTESTATION", `${prefix}session expired (call /auth again)`);
      }
      // The token this session already earned, again: no new decision.
      note.quiet = true;
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
    try {
      // A key the resource plugin could never encrypt to gets no token (and no state).
      checkTeePublicKey(rd["tee-pubkey"]);
    } catch (e) {
      throw err(
        "ERR_KBS_ATTESTATION",
        `${prefix}tee-pubkey cannot receive resources: ${(e as Error).message.replace(/^tee-pubkey:? ?/, "")}`,
        e,
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
        map = parseJsonLimited(ev.additional_evidence, jsonLimits);
      } catch (e) {
        throw err(
          "ERR_KBS_ATTESTATION",
          `${prefix}tee-evidence.additional_evidence: ${(e as Error).message}`,
        );
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
      const result = await as.evaluate(requests, ["default"]);
      token = result.token;
      note.claims = result.claims;
    } catch (e) {
      metrics.inc("kbs_attestation_failures_total", { tee_type: session.tee });
      log(`kbs: attestation refused: ${(e as { code?: string }).code ?? "error"}`);
      throw err("ERR_KBS_ATTESTATION", attestDetail(e), e);
    }
    if (token.length > MAX_TOKEN_CHARS) {
      metrics.inc("kbs_attestation_failures_total", { tee_type: session.tee });
      throw err(
        "ERR_KBS_ATTESTATION",
        `${prefix}the token would be ${token.length} characters, over the ${MAX_TOKEN_CHARS} limit (init-data or evidence claims too large)`,
      );
    }
    // Single use of the challenge, claimed only once the evidence passed: failed attempts
    // leave nothing behind (with replay_ledger = "storage", no write at all).
    let first: boolean;
    try {
      first = await deps.replay.claim(session.id, session.exp);
    } catch (e) {
      // The shared store is down (a PostgreSQL restart): a refusal naming it, not a 500.
      throw err(
        "ERR_KBS_ATTESTATION",
        `${prefix}the replay ledger is unavailable (${(e as Error).message}); try again`,
        e,
      );
    }
    if (!first) {
      throw err(
        "ERR_KBS_ATTESTATION",
        `${prefix}challenge already used (replayed attestation); call /auth again`,
      );
    }
    deps.tokenVerifier.remember(token);
    const attested = await attestedSession(session.id, token, session.exp);
    metrics.inc("kbs_attestation_successes_total", { tee_type: session.tee });
    sendJson(res, 200, { token }, cookieHeader(attested));
  }

  return { auth, attest, tokenOf };
}

/** The handshake's rows of the route table, with upstream's counters. */
export function createRcarRoutes(ctx: KbsContext, rcar: RcarHandlers): Route[] {
  const { metrics } = ctx;
  return [
    {
      method: "POST",
      path: "/kbs/v0/auth",
      event: { kind: "attestation", action: "auth" },
      async handle({ req, res, note }) {
        metrics.inc("kbs_auth_requests_total");
        await rcar.auth(req, res, note).catch((e: unknown) => {
          metrics.inc("kbs_auth_errors_total");
          throw e;
        });
        metrics.inc("kbs_auth_successes_total");
      },
    },
    {
      method: "POST",
      path: "/kbs/v0/attest",
      event: { kind: "attestation", action: "attest" },
      handle({ req, res, note }) {
        metrics.inc("kbs_attestation_requests_total");
        return rcar.attest(req, res, note);
      },
    },
  ];
}
