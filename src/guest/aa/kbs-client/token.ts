/**
 * Attestation tokens as the KBS client sees them: JWT text plus `exp`/`nbf` read from the
 * claims segment without verifying the signature (kbs_protocol `Token::new`). Trustee verifies.
 */
import { AaError } from "../errors.js";

/** A token with its validity window (seconds since the epoch). */
export interface Token {
  content: string;
  exp?: number;
  nbf?: number;
}

/** Reads `exp`/`nbf` from a JWT; a malformed JWT is ERR_KBS_CLIENT_TOKEN. */
export function parseToken(jwt: string): Token {
  const parts = jwt.split(".");
  if (parts.length !== 3 || jwt.length > 1 << 20) {
    throw new AaError("ERR_KBS_CLIENT_TOKEN", "token is not a compact JWT");
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1] ?? "", "base64url").toString("utf8"));
  } catch {
    throw new AaError("ERR_KBS_CLIENT_TOKEN", "token claims are not JSON");
  }
  if (typeof claims !== "object" || claims === null) {
    throw new AaError("ERR_KBS_CLIENT_TOKEN", "token claims are not a JSON object");
  }
  const c = claims as Record<string, unknown>;
  const t: Token = { content: jwt };
  if (typeof c.exp === "number") t.exp = c.exp;
  if (typeof c.nbf === "number") t.nbf = c.nbf;
  return t;
}

/** True when the token is inside its window at `nowSec` (with `skewSec` of margin before exp). */
export function isTokenValid(t: Token, nowSec: number, skewSec = 0): boolean {
  if (t.exp !== undefined && t.exp < nowSec + skewSec) return false;
  if (t.nbf !== undefined && t.nbf > nowSec) return false;
  return true;
}
