/**
 * The KBS HTTP API (kbs/src/api_server.rs). Every request goes through the same steps:
 * 1. the request target is canonicalised once (`protocol/kbs/request-path.ts`); an ambiguous
 *    spelling is refused (404 InvalidRequestPath) before anything else looks at it;
 * 2. the route table (`routes.ts`) picks the row: the RCAR handshake (`rcar.ts`), the admin
 *    endpoints (`admin-api.ts`), the `resource` plugin (`resource.ts`), `/healthz`, `/metrics`
 *    and the token JWKS;
 * 3. rows marked admin pass the admin check, given the same canonical path the router used;
 * 4. the row's handler runs;
 * 5. rows that decide something (attestation, resource release, admin calls) record one event
 *    (`decisions.ts`), allowed or refused.
 * Failures map to upstream's ErrorInformation and status (404 for unknown plugin or path, 401
 * for everything else, 413 for an oversized body). Nothing here answers 5xx for bad input.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { KbsProtocolError } from "../../protocol/kbs/errors.js";
import {
  type CanonicalRequestPath,
  canonicalRequestPath,
} from "../../protocol/kbs/request-path.js";
import { KBS_PATH_PREFIX } from "../../protocol/kbs/types.js";
import { createAdminRoutes } from "./admin-api.js";
import { createKbsContext, err, type KbsContext, type KbsDeps } from "./context.js";
import { createDashboardRoutes } from "./dashboard.js";
import { createDecisionRecorder, type DecisionRecorder, eventKindOf } from "./decisions.js";
import { KbsServerError } from "./errors.js";
import { createEventRoutes } from "./events-api.js";
import { ClientGone, sendEmpty, sendError, sendJson } from "./http.js";
import { createRcarHandlers, createRcarRoutes } from "./rcar.js";
import { createResourceRoutes } from "./resource.js";
import { createRouter, type DecisionNote, type Route, type Router } from "./routes.js";

export type { KbsDeps } from "./context.js";

/** The KBS route table over `ctx` (exported for the router's property tests). */
export function createKbsRouter(ctx: KbsContext): Router {
  const { deps, metrics } = ctx;
  const as = deps.attestationService;
  const rcar = createRcarHandlers(ctx);

  const routes: Route[] = [
    { method: "GET", path: "/healthz", handle: ({ res }) => sendEmpty(res, 200) },
    {
      method: "GET",
      path: "/metrics",
      handle: ({ res }) => {
        const body = Buffer.from(metrics.render());
        res.writeHead(200, {
          "content-type": "text/plain; version=0.0.4",
          "content-length": String(body.length),
        });
        res.end(body);
      },
    },
    {
      method: "GET",
      path: "/.well-known/jwks.json",
      handle: ({ res }) => sendJson(res, 200, as.broker.jwks()),
    },
    ...createRcarRoutes(ctx, rcar),
    ...createAdminRoutes(ctx),
    ...(deps.events !== undefined ? createEventRoutes(deps.events) : []),
    ...((deps.resourcePlugin ?? true) ? createResourceRoutes(ctx, rcar) : []),
    ...((deps.dashboard ?? true) ? createDashboardRoutes(ctx) : []),
  ];
  return createRouter(routes);
}

/** The first segments of a request target, for a log line (never a query or a long path). */
function path0(url: string | undefined): string {
  return JSON.stringify((url ?? "").split("?")[0]?.slice(0, 64) ?? "");
}

/** Creates the request handler. */
export function createKbsHandler(
  deps: KbsDeps,
): (req: IncomingMessage, res: ServerResponse) => void {
  const ctx = createKbsContext(deps);
  const { metrics, log } = ctx;
  const router = createKbsRouter(ctx);
  const record: DecisionRecorder | undefined =
    deps.events !== undefined ? createDecisionRecorder(deps.events, deps.eventOptions) : undefined;

  async function route(req: IncomingMessage, res: ServerResponse) {
    const method = req.method ?? "GET";
    let path: CanonicalRequestPath;
    try {
      path = canonicalRequestPath(req.url ?? "/");
    } catch (e) {
      req.resume();
      if (e instanceof KbsProtocolError) throw err("ERR_KBS_INVALID_PATH", e.message, e);
      throw e;
    }
    const underKbs = path.path.startsWith(`${KBS_PATH_PREFIX}/`);
    const m = router.match(method, path);
    if (m.kind !== "route") {
      req.resume();
      if (m.kind === "method" && !underKbs) {
        res.writeHead(405, { allow: m.allow.join(", "), "content-length": "0" });
        res.end();
        return;
      }
      if (m.kind === "tail") {
        throw err(
          "ERR_KBS_INVALID_PATH",
          `Invalid request path: ${m.route.path} ${m.route.tail === "some" ? "needs a path after it" : "takes no path after it"}`,
        );
      }
      if (!underKbs) {
        throw err("ERR_KBS_INVALID_PATH", "Invalid request path: not under /kbs/v0/");
      }
      const plugin = path.segments[2] ?? "";
      throw err("ERR_KBS_PLUGIN_NOT_FOUND", `Plugin ${plugin.slice(0, 64)} not found`);
    }
    const { route: row, rest } = m;
    if (row.admin !== undefined && path.rawQuery !== undefined) {
      const allowed = row.query ?? [];
      const extra = Object.keys(path.query).find((k) => !allowed.includes(k));
      if (allowed.length === 0 || extra !== undefined) {
        req.resume();
        throw err(
          "ERR_KBS_INVALID_PATH",
          allowed.length === 0
            ? "Invalid request path: admin endpoints take no query string"
            : `Invalid request path: query parameter ${JSON.stringify(extra?.slice(0, 32))} is not one of ${allowed.join(", ")}`,
        );
      }
    }
    const note: DecisionNote = {};
    if (row.refusal === undefined && (record === undefined || eventKindOf(row) === undefined)) {
      if (row.admin !== undefined) await ctx.adminCheck(req, path.path, row.admin);
      await row.handle({ req, res, path, rest, note });
      return;
    }
    const recorded = record !== undefined && eventKindOf(row) !== undefined ? record : undefined;
    const started = performance.now();
    try {
      if (row.admin !== undefined) {
        const id = await ctx.adminCheck(req, path.path, row.admin);
        if (id !== undefined) note.admin = id;
      }
      await row.handle({ req, res, path, rest, note });
    } catch (e) {
      recorded?.(row, req, note, started, e);
      if (row.refusal !== undefined && e instanceof KbsServerError && !res.headersSent) {
        row.refusal(res, e);
        return;
      }
      throw e;
    }
    recorded?.(row, req, note, started);
  }

  return (req, res) => {
    metrics.inc("kbs_http_requests_total");
    route(req, res).catch((e: unknown) => {
      if (e instanceof KbsServerError) {
        sendError(res, e);
        return;
      }
      if (e instanceof ClientGone) {
        log(`kbs: ${e.message} (${req.method ?? "?"} ${path0(req.url)})`);
        res.destroy();
        return;
      }
      // A bug, not bad input: say so without details.
      log(`kbs: internal error: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) sendJson(res, 500, { type: "about:blank", detail: "internal error" });
    });
  };
}
