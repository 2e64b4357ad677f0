/**
 * The KBS HTTP API (kbs/src/api_server.rs): one dispatcher under `/kbs/v0/` that routes the
 * RCAR handshake (`rcar.ts`), the admin endpoints (`admin-api.ts`) and the `resource` plugin
 * (`resource.ts`), plus `/healthz`, `/metrics` and the token JWKS, mapping every failure to
 * upstream's ErrorInformation and status (404 for unknown plugin, 401 for everything else,
 * 413 for an oversized body). Nothing here ever answers 5xx for bad input.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { KBS_PATH_PREFIX } from "../../protocol/kbs/types.js";
import { createAdminApi } from "./admin-api.js";
import { createKbsContext, err, type KbsDeps } from "./context.js";
import { KbsServerError } from "./errors.js";
import { sendEmpty, sendError, sendJson } from "./http.js";
import { createRcarHandlers } from "./rcar.js";
import { createResourcePlugin } from "./resource.js";

export type { KbsDeps } from "./context.js";

/** Creates the request handler. */
export function createKbsHandler(
  deps: KbsDeps,
): (req: IncomingMessage, res: ServerResponse) => void {
  const ctx = createKbsContext(deps);
  const { metrics, log } = ctx;
  const as = deps.attestationService;
  const resourcePlugin = deps.resourcePlugin ?? true;
  const rcar = createRcarHandlers(ctx);
  const resource = createResourcePlugin(ctx, rcar);
  const adminApi = createAdminApi(ctx);

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
      await rcar.auth(req, res).catch((e: unknown) => {
        metrics.inc("kbs_auth_errors_total");
        throw e;
      });
      metrics.inc("kbs_auth_successes_total");
      return;
    }
    if (plugin === "attest" && method === "POST") {
      metrics.inc("kbs_attestation_requests_total");
      return rcar.attest(req, res);
    }
    if (await adminApi(plugin, method, rest, req, res)) return;
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
