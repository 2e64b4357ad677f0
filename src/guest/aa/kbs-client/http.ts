/**
 * The KBS client's HTTP layer: node:http(s) with a keep-alive agent, extra trusted roots,
 * a cookie jar (the KBS session cookie must survive auth → attest → GET), a request timeout
 * and a response size limit.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { AaError } from "../errors.js";

/** One HTTP answer. */
export interface HttpResponse {
  status: number;
  body: Uint8Array;
  contentType: string;
  /** The ETag header, if any (conditional revalidation of resources). */
  etag?: string;
}

/** Options for {@link createHttp}. */
export interface HttpOptions {
  /** PEM certificates trusted in addition to nothing else (the KBS's own root). */
  certs?: string[];
  timeoutMs?: number;
  maxResponseBytes?: number;
}

/** A small HTTP client bound to one base URL. */
export interface KbsHttp {
  request(
    method: "GET" | "POST" | "DELETE",
    path: string,
    opts?: { json?: unknown; raw?: Uint8Array; bearer?: string; ifNoneMatch?: string },
  ): Promise<HttpResponse>;
  /** Forget cookies (a new session). */
  clearCookies(): void;
  close(): void;
}

/** User agent upstream sends. */
export const USER_AGENT = "attestation-agent-kbs-client/0.1.0";

/** A KBS base URL (trailing `/` trimmed, as upstream), http or https; ERR_AA_CONFIG else. */
export function parseKbsBaseUrl(baseUrl: string): URL {
  let base: URL;
  try {
    base = new URL(baseUrl.replace(/\/+$/, ""));
  } catch {
    throw new AaError("ERR_AA_CONFIG", `KBS url ${JSON.stringify(baseUrl)} is not a URL`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new AaError("ERR_AA_CONFIG", "KBS url must be http:// or https://");
  }
  return base;
}

/** Creates the HTTP client for `baseUrl` (trailing `/` trimmed, as upstream). */
export function createHttp(baseUrl: string, opts: HttpOptions = {}): KbsHttp {
  const base = parseKbsBaseUrl(baseUrl);
  const https = base.protocol === "https:";
  const agent = https
    ? new HttpsAgent({ keepAlive: true, ...(opts.certs?.length ? { ca: opts.certs } : {}) })
    : new HttpAgent({ keepAlive: true });
  const cookies = new Map<string, string>();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxBytes = opts.maxResponseBytes ?? 32 << 20;
  const prefix = base.pathname.replace(/\/+$/, "");

  return {
    request(method, path, ro = {}) {
      const body =
        ro.json !== undefined
          ? Buffer.from(JSON.stringify(ro.json))
          : ro.raw !== undefined
            ? Buffer.from(ro.raw)
            : undefined;
      const headers: Record<string, string> = { "user-agent": USER_AGENT };
      if (body) {
        headers["content-type"] =
          ro.json !== undefined ? "application/json" : "application/octet-stream";
        headers["content-length"] = String(body.length);
      }
      if (cookies.size > 0) {
        headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      }
      if (ro.bearer !== undefined) {
        // A token is visible ASCII (a JWT): anything else, e.g. a line break from a hostile
        // answer, is refused here with a code rather than by node:http's header check.
        if (!/^[\x21-\x7e]+$/.test(ro.bearer)) {
          return Promise.reject(
            new AaError(
              "ERR_KBS_CLIENT_TOKEN",
              `${method} ${path} not sent: the token is not visible ASCII`,
            ),
          );
        }
        headers.authorization = `Bearer ${ro.bearer}`;
      }
      if (ro.ifNoneMatch !== undefined) headers["if-none-match"] = ro.ifNoneMatch;
      const send = https ? httpsRequest : httpRequest;
      return new Promise<HttpResponse>((resolve, reject) => {
        const req = send(
          {
            protocol: base.protocol,
            hostname: base.hostname,
            port: base.port,
            path: `${prefix}${path}`,
            method,
            headers,
            agent,
            timeout: timeoutMs,
          },
          (res: IncomingMessage) => {
            for (const c of res.headers["set-cookie"] ?? []) {
              const pair = c.split(";")[0] ?? "";
              const eq = pair.indexOf("=");
              if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
            }
            const chunks: Buffer[] = [];
            let size = 0;
            res.on("data", (c: Buffer) => {
              size += c.length;
              if (size > maxBytes) {
                req.destroy(
                  new AaError("ERR_KBS_CLIENT_RESPONSE", `KBS response exceeds ${maxBytes} bytes`),
                );
                return;
              }
              chunks.push(c);
            });
            res.on("end", () => {
              const r: HttpResponse = {
                status: res.statusCode ?? 0,
                body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
                contentType: String(res.headers["content-type"] ?? ""),
              };
              const etag = res.headers.etag;
              if (etag !== undefined) r.etag = etag;
              resolve(r);
            });
            res.on("error", reject);
          },
        );
        req.on("timeout", () =>
          req.destroy(
            new AaError(
              "ERR_KBS_CLIENT_UNREACHABLE",
              `KBS did not answer ${method} ${path} within ${timeoutMs} ms`,
            ),
          ),
        );
        req.on("error", (err) => {
          if (err instanceof AaError) reject(err);
          else
            reject(
              new AaError(
                "ERR_KBS_CLIENT_UNREACHABLE",
                `KBS at ${base.origin} unreachable: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
                {
                  cause: err,
                },
              ),
            );
        });
        req.end(body);
      });
    },
    clearCookies() {
      cookies.clear();
    },
    close() {
      agent.destroy();
    },
  };
}
