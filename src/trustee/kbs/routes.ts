/**
 * The KBS route table: each endpoint is one row (method, canonical path, what may follow it,
 * whether it is an admin call), matched against the canonical request path
 * (`protocol/kbs/request-path.ts`). The admin check is applied by the handler to every row that
 * declares `admin`, once, before the row's handler runs; no handler repeats it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CanonicalRequestPath } from "../../protocol/kbs/request-path.js";
import type { TrusteeEventKind } from "../events/event.js";
import type { AdminIdentity } from "./admin-auth.js";
import type { KbsServerError } from "./errors.js";

/**
 * What a handler learned about the decision it made, for the event the decision middleware
 * records (`decisions.ts`): filled in as the handler goes, read after it answered or failed.
 */
export interface DecisionNote {
  tee?: string;
  session?: string;
  /** Claims of the token issued or presented (read for verdicts, never stored). */
  claims?: unknown;
  /** Resource path `repository/type/tag`. */
  resource?: string;
  /** The admin who passed the admin middleware. */
  admin?: AdminIdentity;
  /** Set by a handler whose success is no decision (a challenge issued). */
  quiet?: boolean;
}

/** What a route handler receives. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The canonical request path (the string the ACL saw). */
  path: CanonicalRequestPath;
  /** Decoded segments after the route's path (empty for `tail: "none"`). */
  rest: string[];
  /** Facts for the decision event (rows with `event`, and admin rows). */
  note: DecisionNote;
}

/** How the admin middleware treats a row. */
export interface AdminRequirement {
  /** Endpoint name used in the denial detail (`resource-policy`). */
  endpoint: string;
  /**
   * Upstream reports a failed admin check on a plugin (the resource plugin) as
   * `AdminAuthInitialization` and on a built-in as `AdminAuthAccess`.
   */
  plugin?: boolean;
  /**
   * A browser page (the dashboard): the admin token may also come from the dashboard cookie
   * (`http.ts` DASHBOARD_COOKIE) when there is no Authorization header.
   */
  browser?: boolean;
}

/** One row of the table. */
export interface Route {
  method: "GET" | "POST" | "DELETE";
  /** Canonical path the row serves, e.g. `/kbs/v0/resource-policy`. */
  path: string;
  /**
   * What may follow `path`: `none` (exactly `path`), `some` (one or more segments) or `any`.
   * Default `none`: a built-in endpoint is reached by one spelling only.
   */
  tail?: "none" | "some" | "any";
  /** Present on admin rows: the admin middleware runs first. */
  admin?: AdminRequirement;
  /**
   * Query parameters an admin row accepts (others, and any query on an admin row without
   * this list, are refused: the ACL sees the path only, so a query never changes what it allows).
   */
  query?: readonly string[];
  /**
   * The decision event this row records: `kind`, and `action` (default `<method> <path>`).
   * Admin rows record their refusals and, unless they are GETs, their successes.
   */
  event?: { kind: TrusteeEventKind; action?: string };
  /**
   * Answers a refusal (a KbsServerError from the admin middleware or the handler) instead of
   * ErrorInformation: the dashboard's browser rows show a page.
   */
  refusal?: (res: ServerResponse, e: KbsServerError) => void;
  handle(c: RouteContext): Promise<void> | void;
}

/** The outcome of matching a request. */
export type RouteMatch =
  | { kind: "route"; route: Route; rest: string[] }
  /** A row serves this path, but not with this method. */
  | { kind: "method"; allow: string[] }
  /** A row serves a prefix of this path, but takes no (or needs a) remaining path. */
  | { kind: "tail"; route: Route }
  | { kind: "none" };

/** A compiled route table. */
export interface Router {
  match(method: string, path: CanonicalRequestPath): RouteMatch;
  readonly routes: readonly Route[];
}

function accepts(route: Route, restLength: number): boolean {
  const tail = route.tail ?? "none";
  return tail === "any" || (tail === "none" ? restLength === 0 : restLength > 0);
}

/** Compiles a table; two rows with the same method and path are a programming error. */
export function createRouter(routes: readonly Route[]): Router {
  const byPath = new Map<string, Route[]>();
  for (const r of routes) {
    if (!r.path.startsWith("/") || (r.path !== "/" && r.path.endsWith("/"))) {
      throw new Error(`route path ${r.path} is not canonical`);
    }
    const rows = byPath.get(r.path) ?? [];
    if (rows.some((x) => x.method === r.method)) {
      throw new Error(`duplicate route ${r.method} ${r.path}`);
    }
    rows.push(r);
    byPath.set(r.path, rows);
  }
  return {
    routes,
    match(method, path) {
      const segs = path.segments;
      // Longest prefix first: /kbs/v0/resource/a/b/c, then /kbs/v0/resource/a/b, ...
      for (let n = segs.length; n >= 0; n--) {
        const prefix = n === segs.length ? path.path : `/${segs.slice(0, n).join("/")}`;
        const rows = byPath.get(prefix);
        if (rows === undefined) continue;
        const restLength = segs.length - n;
        const fitting = rows.filter((r) => accepts(r, restLength));
        if (fitting.length === 0) return { kind: "tail", route: rows[0] as Route };
        const route = fitting.find((r) => r.method === method);
        if (route === undefined) return { kind: "method", allow: fitting.map((r) => r.method) };
        return { kind: "route", route, rest: segs.slice(n) };
      }
      return { kind: "none" };
    },
  };
}
