/**
 * The admin endpoints of upstream's KBS: `POST /attestation-policy`, `POST|GET
 * /resource-policy`, `POST /reference-value`, `GET /reference-value/<id>`. Each calls the admin
 * check first; policies arrive as base64url without padding, as upstream requires.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { err, type KbsContext } from "./context.js";
import { sendEmpty, sendJson } from "./http.js";

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

/** Handles an admin endpoint; resolves false when `plugin`/`method` is not one. */
export type AdminApi = (
  plugin: string,
  method: string,
  rest: string[],
  req: IncomingMessage,
  res: ServerResponse,
) => Promise<boolean>;

/** Creates the admin endpoints. */
export function createAdminApi(ctx: KbsContext): AdminApi {
  const { deps, log, adminCheck, jsonBody } = ctx;
  const as = deps.attestationService;
  return async (plugin, method, rest, req, res) => {
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
      sendEmpty(res, 200);
      return true;
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
      sendEmpty(res, 200);
      return true;
    }
    if (plugin === "resource-policy" && method === "GET") {
      await adminCheck(req, "resource-policy", false);
      sendJson(res, 200, await deps.resourcePolicy.ids());
      return true;
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
      sendEmpty(res, 200, "application/json");
      return true;
    }
    if (plugin === "reference-value" && method === "GET") {
      await adminCheck(req, "reference-value", false);
      try {
        sendJson(res, 200, await as.rvps.query(rest.join("/")));
        return true;
      } catch (e) {
        throw err("ERR_KBS_RVPS", `RVPS configuration failed: ${(e as Error).message}`, e);
      }
    }
    return false;
  };
}
