/**
 * The `resource` plugin (kbs/src/plugins/implementations/resource): GET releases a resource as
 * a JWE to the TEE key of a verified token the resource policy allows; POST and DELETE are
 * admin calls. Order as upstream: token → verification → policy → path → storage → JWE, so a
 * denied caller never learns whether a resource exists. A GET whose If-None-Match holds the
 * tag of the resource it would get answers 304 after all of these checks but the JWE
 * (`resource-etag.ts`).
 */
import { createTeeKeyEncryptor, type FlattenedJwe } from "../../crypto/jwe.js";
import { KBS_SESSION_COOKIE } from "../../protocol/kbs/types.js";
import { err, type KbsContext } from "./context.js";
import { getCookie, readBody, sendEmpty, sendJson } from "./http.js";
import type { RcarHandlers } from "./rcar.js";
import { createResourceTagger } from "./resource-etag.js";
import { parseResourcePath } from "./resource-path.js";
import type { Route, RouteContext } from "./routes.js";

const REPOSITORY = "repository";

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

/** Creates the resource plugin's rows: GET releases, POST and DELETE are admin calls. */
export function createResourceRoutes(ctx: KbsContext, rcar: RcarHandlers): Route[] {
  const { deps, metrics, log, limit } = ctx;
  const tokenOf = rcar.tokenOf;
  const admin = { endpoint: "resource", plugin: true };
  // ECDH on the thread pool, the next response's started ahead for repeat guests (jose-sync.ts).
  const jweTo = createTeeKeyEncryptor({ offThread: deps.cryptoOffThread ?? false });
  // Entity tags for conditional revalidation (resource-etag.ts): a 304 after the full check.
  const tagger = createResourceTagger();

  async function getResource({ req, res, rest: segments, path: { query }, note }: RouteContext) {
    req.resume();
    note.resource = segments.join("/");
    let token: string | undefined;
    const cookie = getCookie(req, KBS_SESSION_COOKIE);
    if (cookie !== undefined) {
      const s = deps.sessions.open(cookie);
      if (typeof s !== "string") note.session = s.id;
      if (typeof s !== "string" && s.state !== "authed") token = await tokenOf(s);
    }
    if (token === undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
      if (m !== null) token = m[1];
    }
    if (token === undefined) throw err("ERR_KBS_TOKEN_NOT_FOUND", "Attestation Token not found");
    // A token verified before (the passport client's next GET) is answered without a turn of
    // the event loop; its expiry is checked again either way.
    const verified =
      deps.tokenVerifier.remembered(token) ?? (await deps.tokenVerifier.verify(token));
    note.claims = verified.claims;
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
    const etag = tagger.tagOf(path.key, value, verified.teePubkey);
    if (tagger.matches(req.headers["if-none-match"], etag)) {
      // Authorized, present and unchanged for this TEE key: the guest holds the plaintext.
      metrics.inc("kbs_resource_reads_total");
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    let jwe: FlattenedJwe;
    try {
      jwe = await jweTo.encrypt(verified.teePubkey, value);
    } catch (e) {
      throw err("ERR_KBS_JWE", `JWE failed: ${(e as Error).message}`, e);
    }
    metrics.inc("kbs_resource_reads_total");
    sendJson(res, 200, jwe, { etag });
  }

  async function putResource({ req, res, rest, note }: RouteContext) {
    note.resource = rest.join("/");
    const path = parseResourcePath(rest);
    const body = await readBody(req, limit);
    try {
      await deps.store.put(REPOSITORY, path.key, body);
    } catch (e) {
      throw err("ERR_KBS_PLUGIN_INTERNAL", "Plugin internal error: resource storage failed", e);
    }
    metrics.inc("kbs_resource_writes_total");
    log(`kbs: resource ${path.key} written (${body.length} bytes)`);
    sendEmpty(res, 200, "text/xml");
  }

  async function deleteResource({ req, res, rest, note }: RouteContext) {
    req.resume();
    note.resource = rest.join("/");
    const path = parseResourcePath(rest);
    if (!(await deps.store.delete(REPOSITORY, path.key))) {
      throw err("ERR_KBS_PLUGIN_INTERNAL", "Plugin internal error: resource not found");
    }
    metrics.inc("kbs_resource_deletes_total");
    log(`kbs: resource ${path.key} deleted`);
    sendEmpty(res, 200);
  }

  const at = "/kbs/v0/resource";
  return [
    {
      method: "GET",
      path: at,
      tail: "any",
      event: { kind: "resource", action: "resource" },
      handle: getResource,
    },
    { method: "POST", path: at, tail: "any", admin, handle: putResource },
    { method: "DELETE", path: at, tail: "any", admin, handle: deleteResource },
  ];
}
