/**
 * The dashboard (our addition): rows of the route table under `/kbs/v0/dashboard`.
 * - `GET /kbs/v0/dashboard` (admin): the overview page (`../dashboard/render.ts`);
 * - `GET /kbs/v0/dashboard/stream` (admin): new events as server-sent events, for live rows;
 * - `GET|POST /kbs/v0/dashboard/login`: a form taking the admin token; a token that passes
 *   the admin check for the dashboard's path is kept in an HttpOnly, SameSite=Strict cookie
 *   scoped to the dashboard, and is checked again, like the header, on every request;
 * - `POST /kbs/v0/dashboard/logout`, `GET /kbs/v0/dashboard/app.{js,css}`.
 * The admin rows are `browser` rows: the admin middleware also takes the cookie, and a refusal
 * is the login page with the reason (401) instead of ErrorInformation. Sign-ins and refusals
 * are admin events; viewing is not.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DASHBOARD_CSS, DASHBOARD_JS } from "../dashboard/assets.js";
import { DASHBOARD_PATH, PAGE_HEADERS, renderLogin, renderOverview } from "../dashboard/render.js";
import type { TrusteeEvent } from "../events/index.js";
import { isAdminDenial } from "./admin-auth.js";
import { err, type KbsContext } from "./context.js";
import type { KbsServerError } from "./errors.js";
import { followEvents } from "./events-api.js";
import { DASHBOARD_COOKIE, readBody } from "./http.js";
import type { Route } from "./routes.js";

/** Resource names listed at most. */
const MAX_RESOURCES = 500;
/** Rows of each event table. */
const EVENT_ROWS = 50;
/** Longest dashboard sign-in form. */
const MAX_FORM_BYTES = 16 * 1024;
/** Longest life of the dashboard cookie (the token's own expiry comes first). */
const MAX_COOKIE_SECS = 8 * 3600;

function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string> = {},
) {
  const body = Buffer.from(html, "utf8");
  res.writeHead(status, {
    ...PAGE_HEADERS,
    "content-length": String(body.length),
    ...headers,
  });
  res.end(body);
}

function sendAsset(res: ServerResponse, type: string, text: string) {
  const body = Buffer.from(text, "utf8");
  res.writeHead(200, {
    "content-type": `${type}; charset=utf-8`,
    "content-length": String(body.length),
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  res.end(body);
}

/** A refusal of a dashboard page: the login page naming why, 401. */
function refuse(res: ServerResponse, e: KbsServerError) {
  // The detail names the failed check ("token expired", "role ... may not call ..."); the
  // upstream prefix adds nothing for a person.
  const reason = e.message.replace(
    /^admin access denied for endpoint [^:]+: Admin access denied: /,
    "",
  );
  sendHtml(res, 401, renderLogin(reason));
}

/** The `exp` claim of a JWT, unverified (only to bound the cookie's life; the check verifies). */
function expOf(token: string): number | undefined {
  try {
    const claims = JSON.parse(
      Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"),
    ) as { exp?: unknown };
    return typeof claims.exp === "number" ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

function cookie(req: IncomingMessage, value: string, maxAgeSecs: number): string {
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true ? "; Secure" : "";
  return `${DASHBOARD_COOKIE}=${value}; Path=${DASHBOARD_PATH}; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeSecs))}${secure}`;
}

/**
 * A POST from another origin is refused (a sign-in form cannot be submitted cross-site): by
 * the browser's `Sec-Fetch-Site` when it sends one, and by `Origin`, which must name this host
 * (a client that sends neither, such as curl, is no browser a page could drive).
 */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return false;
  const origin = req.headers.origin;
  if (origin === undefined || origin === "null") return origin === undefined;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** The dashboard's rows. */
export function createDashboardRoutes(ctx: KbsContext): Route[] {
  const { deps } = ctx;
  const as = deps.attestationService;
  const events = deps.events;
  const admin = { endpoint: "dashboard", browser: true };

  async function overview({ req, res, note }: Parameters<Route["handle"]>[0]) {
    req.resume();
    const newestFirst = (l: TrusteeEvent[]) => l.reverse();
    const [attestations, denials, keys, attestationPolicies, resourcePolicies, referenceValues] =
      await Promise.all([
        events?.query({ kind: "attestation", limit: EVENT_ROWS }).then(newestFirst),
        events?.query({ verdict: "deny", limit: EVENT_ROWS }).then(newestFirst),
        deps.store.list("repository"),
        as.policies.list(),
        deps.resourcePolicy.ids(),
        as.rvps.list(),
      ]);
    const sorted = [...keys].sort();
    const who = note.admin;
    sendHtml(
      res,
      200,
      renderOverview({
        ...(events !== undefined ? { replica: events.replica } : {}),
        ...(attestations !== undefined ? { attestations } : {}),
        ...(denials !== undefined ? { denials } : {}),
        resources: sorted.slice(0, MAX_RESOURCES),
        resourcesTruncated: sorted.length > MAX_RESOURCES,
        attestationPolicies: [...attestationPolicies].sort(),
        resourcePolicies: [...resourcePolicies].sort(),
        referenceValues,
        ...(who !== undefined
          ? {
              admin: {
                ...(who.sub !== undefined ? { sub: who.sub } : {}),
                ...(who.role !== undefined ? { role: who.role } : {}),
              },
            }
          : {}),
        now: Date.now(),
      }),
    );
  }

  const rows: Route[] = [
    { method: "GET", path: DASHBOARD_PATH, admin, refusal: refuse, handle: overview },
    {
      method: "GET",
      path: `${DASHBOARD_PATH}/app.js`,
      handle: ({ res }) => sendAsset(res, "text/javascript", DASHBOARD_JS),
    },
    {
      method: "GET",
      path: `${DASHBOARD_PATH}/app.css`,
      handle: ({ res }) => sendAsset(res, "text/css", DASHBOARD_CSS),
    },
    {
      method: "GET",
      path: `${DASHBOARD_PATH}/login`,
      handle: ({ req, res }) => {
        req.resume();
        sendHtml(res, 200, renderLogin());
      },
    },
    {
      method: "POST",
      path: `${DASHBOARD_PATH}/login`,
      event: { kind: "admin", action: "dashboard sign-in" },
      refusal: refuse,
      async handle({ req, res, note }) {
        if (!sameOrigin(req)) {
          req.resume();
          throw err(
            "ERR_KBS_ADMIN_ACCESS",
            "admin access denied for endpoint dashboard: Admin access denied: the form came from another origin",
          );
        }
        const form = new URLSearchParams(
          Buffer.from(await readBody(req, MAX_FORM_BYTES)).toString("utf8"),
        );
        const token = (form.get("token") ?? "").trim();
        if (!/^[A-Za-z0-9_.-]{1,8192}$/.test(token)) {
          throw err(
            "ERR_KBS_ADMIN_ACCESS",
            "admin access denied for endpoint dashboard: Admin access denied: paste the admin token (a JWT)",
          );
        }
        try {
          const id = await deps.admin.check(`Bearer ${token}`, DASHBOARD_PATH);
          if (id !== undefined) note.admin = id;
        } catch (e) {
          const reason = isAdminDenial(e) ? e.message : "admin check failed";
          ctx.log(`kbs: dashboard sign-in refused: ${reason}`);
          throw err(
            "ERR_KBS_ADMIN_ACCESS",
            `admin access denied for endpoint dashboard: Admin access denied: ${reason}`,
          );
        }
        const exp = expOf(token);
        const life = Math.min(
          MAX_COOKIE_SECS,
          exp !== undefined ? exp - Date.now() / 1000 : MAX_COOKIE_SECS,
        );
        res.writeHead(303, {
          location: DASHBOARD_PATH,
          "set-cookie": cookie(req, token, life),
          "cache-control": "no-store",
          "content-length": "0",
        });
        res.end();
      },
    },
    {
      method: "POST",
      path: `${DASHBOARD_PATH}/logout`,
      handle({ req, res }) {
        req.resume();
        res.writeHead(303, {
          location: `${DASHBOARD_PATH}/login`,
          "set-cookie": cookie(req, "", 0),
          "cache-control": "no-store",
          "content-length": "0",
        });
        res.end();
      },
    },
  ];
  if (events !== undefined) {
    rows.push({
      method: "GET",
      path: `${DASHBOARD_PATH}/stream`,
      admin,
      refusal: refuse,
      async handle({ req, res }) {
        req.resume();
        res.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        });
        res.write(": live\n\n");
        await followEvents(events, {}, res, (e) => `data: ${JSON.stringify(e)}\n\n`, {
          everyMs: 15_000,
          text: ": ping\n\n",
        });
      },
    });
  }
  return rows;
}
