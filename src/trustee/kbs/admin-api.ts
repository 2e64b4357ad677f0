/**
 * The admin endpoints of upstream's KBS: `POST /attestation-policy`, `POST|GET
 * /resource-policy`, `POST /reference-value`, `GET /reference-value/<id>`, as rows of the route
 * table marked `admin` (the handler's admin middleware checks them first). Policies arrive as
 * base64url without padding, as upstream requires. Ours: `GET /reference-value` lists every
 * value with its expiry and provenance, `DELETE /reference-value/<id>` removes one.
 */
import { err, type KbsContext } from "./context.js";
import { sendEmpty, sendJson } from "./http.js";
import type { Route } from "./routes.js";

const B64URL_NOPAD = /^[A-Za-z0-9_-]*$/;

function decodeB64UrlNoPad(s: unknown, what: string): string {
  if (typeof s !== "string" || !B64URL_NOPAD.test(s)) {
    throw err(
      "ERR_KBS_PARSE_POLICY",
      `Failed to parse policy: ${what} must be base64url without padding`,
    );
  }
  return Buffer.from(s, "base64url").toString("utf8");
}

/** Creates the admin rows of the route table (the admin middleware runs before each). */
export function createAdminRoutes(ctx: KbsContext): Route[] {
  const { deps, log, jsonBody } = ctx;
  const as = deps.attestationService;
  const admin = (endpoint: string) => ({ endpoint });
  return [
    {
      method: "POST",
      path: "/kbs/v0/attestation-policy",
      admin: admin("attestation-policy"),
      async handle({ req, res }) {
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
        sendEmpty(res, 200);
      },
    },
    {
      method: "POST",
      path: "/kbs/v0/resource-policy",
      admin: admin("resource-policy"),
      async handle({ req, res }) {
        const body = (await jsonBody(
          req,
          "ERR_KBS_PARSE_POLICY",
          "Failed to parse policy: ",
        )) as Record<string, unknown> | null;
        const text = decodeB64UrlNoPad(body?.policy, "policy");
        await deps.resourcePolicy.set(text);
        log("kbs: resource policy set");
        sendEmpty(res, 200);
      },
    },
    {
      method: "GET",
      path: "/kbs/v0/resource-policy",
      admin: admin("resource-policy"),
      async handle({ req, res }) {
        req.resume();
        sendJson(res, 200, await deps.resourcePolicy.ids());
      },
    },
    {
      method: "POST",
      path: "/kbs/v0/reference-value",
      admin: admin("reference-value"),
      async handle({ req, res }) {
        const body = await jsonBody(req, "ERR_KBS_RVPS", "RVPS configuration failed: ");
        try {
          const names = await as.rvps.register(body);
          log(`kbs: reference values registered: ${names.length}`);
        } catch (e) {
          throw err("ERR_KBS_RVPS", `RVPS configuration failed: ${(e as Error).message}`, e);
        }
        sendEmpty(res, 200, "application/json");
      },
    },
    {
      // Upstream: GET /reference-value/<id> answers the value. Ours: with no id, the list of
      // every value with its expiry and provenance.
      method: "GET",
      path: "/kbs/v0/reference-value",
      tail: "any",
      admin: admin("reference-value"),
      async handle({ req, res, rest }) {
        req.resume();
        let value: unknown;
        try {
          value = rest.length === 0 ? await as.rvps.list() : await as.rvps.query(rest.join("/"));
        } catch (e) {
          throw err("ERR_KBS_RVPS", `RVPS configuration failed: ${(e as Error).message}`, e);
        }
        sendJson(res, 200, value);
      },
    },
    {
      // Ours: DELETE /reference-value/<id>, or ?id=<name> for names that are no path
      // (`rvps:///ns/x:tag` has an empty segment).
      method: "DELETE",
      path: "/kbs/v0/reference-value",
      tail: "any",
      admin: admin("reference-value"),
      query: ["id"],
      async handle({ req, res, rest, path }) {
        req.resume();
        const byQuery = path.query.id;
        if (rest.length > 0 === (byQuery !== undefined)) {
          throw err(
            "ERR_KBS_INVALID_PATH",
            "Invalid request path: name the reference value either after the path or as ?id=, once",
          );
        }
        const name = byQuery ?? rest.join("/");
        try {
          await as.rvps.delete(name);
        } catch (e) {
          throw err("ERR_KBS_RVPS", `RVPS configuration failed: ${(e as Error).message}`, e);
        }
        log(`kbs: reference value deleted: ${JSON.stringify(name.slice(0, 128))}`);
        sendEmpty(res, 200, "application/json");
      },
    },
  ];
}
