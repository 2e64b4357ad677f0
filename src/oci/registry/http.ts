/**
 * The one HTTP edge of the registry client: node:http/https (measured 2× faster than fetch on
 * loopback), with timeouts, redirect following and response size limits.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { OciError } from "../errors.js";

/** TLS and timeout settings for one registry connection. */
export interface HttpOptions {
  /** Extra PEM CA certificates to trust, in addition to the system roots. */
  ca?: string[];
  /** Skip TLS certificate verification (skopeo `--tls-verify=false`). */
  insecureSkipVerify?: boolean;
  /** Idle socket timeout in milliseconds (default 30 s). */
  idleTimeoutMs?: number;
}

/** A response whose body has not been read yet. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: string;
}

/** One request. `body` is sent as is. */
export interface HttpRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  /** A buffer, or a stream sent chunked (cannot be resent: no redirects or auth retries). */
  body?: Uint8Array | Readable;
}

/** Sends HTTP requests with the configured TLS settings and keep-alive agents. */
export interface HttpTransport {
  send(req: HttpRequest): Promise<HttpResponse>;
  close(): void;
}

const MAX_REDIRECTS = 5;

/** Creates a transport. */
export function createHttpTransport(opts: HttpOptions = {}): HttpTransport {
  const idle = opts.idleTimeoutMs ?? 30_000;
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  const tlsOpts: Record<string, unknown> = { keepAlive: true, maxSockets: 8 };
  if (opts.ca !== undefined && opts.ca.length > 0) {
    // Trust the configured CAs in addition to the system store.
    tlsOpts.ca = [...rootCertificates, ...opts.ca];
  }
  if (opts.insecureSkipVerify === true) tlsOpts.rejectUnauthorized = false;
  const httpsAgent = new HttpsAgent(tlsOpts);

  const once = (req: HttpRequest): Promise<HttpResponse> =>
    new Promise((resolve, reject) => {
      let u: URL;
      try {
        u = new URL(req.url);
      } catch {
        reject(new OciError("ERR_OCI_HTTP", "invalid URL"));
        return;
      }
      const isHttps = u.protocol === "https:";
      if (!isHttps && u.protocol !== "http:") {
        reject(new OciError("ERR_OCI_HTTP", `unsupported URL scheme ${u.protocol}`));
        return;
      }
      const headers: Record<string, string> = { "User-Agent": "coco-ts", ...req.headers };
      if (req.body instanceof Uint8Array) headers["Content-Length"] = String(req.body.byteLength);
      const r = (isHttps ? httpsRequest : httpRequest)(
        u,
        { method: req.method, headers, agent: isHttps ? httpsAgent : httpAgent },
        (res) => {
          res.setTimeout(idle, () =>
            res.destroy(new OciError("ERR_OCI_TIMEOUT", `no data from ${u.host} for ${idle} ms`)),
          );
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: u.href });
        },
      );
      r.setTimeout(idle, () =>
        r.destroy(new OciError("ERR_OCI_TIMEOUT", `no answer from ${u.host} within ${idle} ms`)),
      );
      r.on("error", (err) => {
        reject(
          err instanceof OciError
            ? err
            : new OciError(
                "ERR_OCI_HTTP",
                `${req.method} ${u.host}${u.pathname}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
                { cause: err },
              ),
        );
      });
      if (req.body instanceof Uint8Array || req.body === undefined) r.end(req.body);
      else {
        const body = req.body;
        body.once("error", (err) => r.destroy(err));
        body.pipe(r);
      }
    });

  return {
    async send(req) {
      let current = req;
      for (let i = 0; ; i++) {
        const res = await once(current);
        const loc = res.headers.location;
        if (
          [301, 302, 303, 307, 308].includes(res.status) &&
          loc !== undefined &&
          (req.method === "GET" || req.method === "HEAD")
        ) {
          res.body.resume();
          if (i >= MAX_REDIRECTS)
            throw new OciError("ERR_OCI_HTTP", `too many redirects from ${new URL(req.url).host}`);
          const next = new URL(loc, res.url);
          const from = new URL(current.url);
          const headers = { ...current.headers };
          // Credentials never follow a redirect to another host (blob storage uses signed URLs).
          if (next.host !== from.host) delete headers.Authorization;
          current = { method: current.method, url: next.href, headers };
          continue;
        }
        return res;
      }
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** Reads a whole body, refusing more than `limit` bytes or taking longer than `deadlineMs`. */
export async function readBody(
  res: HttpResponse,
  limit: number,
  what: string,
  deadlineMs = 60_000,
): Promise<Buffer> {
  const timer = setTimeout(
    () =>
      res.body.destroy(
        new OciError("ERR_OCI_TIMEOUT", `${what} not received within ${deadlineMs} ms`),
      ),
    deadlineMs,
  );
  try {
    return await readAll(res, limit, what);
  } finally {
    clearTimeout(timer);
  }
}

async function readAll(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers["content-length"] ?? "-1");
  if (declared > limit) {
    res.body.destroy();
    throw new OciError("ERR_OCI_TOO_LARGE", `${what} is ${declared} bytes (limit ${limit})`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      res.body.destroy();
      throw new OciError("ERR_OCI_TOO_LARGE", `${what} exceeds ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}
