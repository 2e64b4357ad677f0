/**
 * Registry credentials: the containers `auth.json` lookup (image-rs/containers-image rules) and
 * the `WWW-Authenticate` challenge parser for the Basic and Bearer flows.
 */
import { OciError } from "../errors.js";
import type { ImageReference } from "../reference.js";

/** Username and password for one registry. Never logged. */
export interface Credentials {
  username: string;
  password: string;
}

/** A parsed auth.json: `auths` keys to credentials. */
export type AuthFile = Map<string, Credentials>;

/** Parses `{"auths":{"<key>":{"auth":"<base64 user:password>"}}}`. */
export function parseAuthFile(bytes: Uint8Array): AuthFile {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new OciError("ERR_OCI_AUTH_CONFIG", "auth file is not valid JSON");
  }
  const auths = (v as { auths?: unknown } | null)?.auths;
  if (auths === undefined || auths === null || typeof auths !== "object" || Array.isArray(auths)) {
    throw new OciError("ERR_OCI_AUTH_CONFIG", "auth file needs an 'auths' object");
  }
  const out: AuthFile = new Map();
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    const e = entry as { auth?: unknown; username?: unknown; password?: unknown } | null;
    if (e !== null && typeof e === "object" && typeof e.auth === "string" && e.auth !== "") {
      const decoded = Buffer.from(e.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) {
        throw new OciError(
          "ERR_OCI_AUTH_CONFIG",
          `auth entry '${key}' is not base64 of user:password`,
        );
      }
      out.set(key, {
        username: decoded.slice(0, colon),
        password: decoded.slice(colon + 1).replace(/\n+$/, ""),
      });
    } else if (
      e !== null &&
      typeof e === "object" &&
      typeof e.username === "string" &&
      typeof e.password === "string"
    ) {
      out.set(key, { username: e.username, password: e.password });
    }
  }
  return out;
}

function normalizeKey(key: string): string {
  let k = key;
  if (k.startsWith("http://") || k.startsWith("https://")) {
    k = k.slice(k.indexOf("://") + 3);
    const slash = k.indexOf("/");
    if (slash >= 0) k = k.slice(0, slash);
  }
  if (k === "docker.io" || k === "registry-1.docker.io") return "index.docker.io";
  return k;
}

/**
 * Credentials for an image: longest matching `registry/repo` prefix first, then normalised
 * registry-only keys (`https://index.docker.io/v1/` matches docker.io). Undefined → anonymous.
 */
export function lookupCredentials(auth: AuthFile, ref: ImageReference): Credentials | undefined {
  const parts = `${ref.registry}/${ref.repository}`.split("/");
  for (let n = parts.length; n >= 1; n--) {
    const hit = auth.get(parts.slice(0, n).join("/"));
    if (hit !== undefined) return hit;
  }
  const want = normalizeKey(ref.registry);
  for (const [key, cred] of auth) {
    if (normalizeKey(key) === want) return cred;
  }
  return undefined;
}

/** One `WWW-Authenticate` challenge. */
export interface Challenge {
  scheme: "basic" | "bearer";
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` header value (RFC 7235 auth-params with quoted strings). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (m === null) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== "basic" && scheme !== "bearer") return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = m[2] ?? "";
  re.lastIndex = 0;
  for (let g = re.exec(rest); g !== null && g[0] !== ""; g = re.exec(rest)) {
    params[g[1]!.toLowerCase()] = g[2] !== undefined ? g[2].replace(/\\(.)/g, "$1") : (g[3] ?? "");
  }
  return { scheme, params };
}

/** The `Authorization` header value for Basic credentials. */
export function basicAuthorization(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, "utf8").toString("base64")}`;
}
