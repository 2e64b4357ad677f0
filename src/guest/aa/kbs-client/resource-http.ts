/**
 * The HTTP client of the CDH's resource GETs (the token client): one keep-alive connection to
 * Trustee through undici's `Client`, which costs less CPU per request than node:http's `Agent`
 * (measured in docs/performance.md#cdh). Resource GETs carry only a bearer token, so there is
 * no cookie jar here (the RCAR handshake keeps using `http.ts`). Same limits and errors as
 * `http.ts`: a timeout on the answer, a response size limit, `ERR_KBS_CLIENT_UNREACHABLE`.
 *
 * undici is loaded when asked (`preload`) or on the first GET, not when this module is
 * imported: loading it costs about 80 ms of CPU on this machine (its HTTP parser is
 * WebAssembly), which a pod agent that fetches one or two secrets at start should not pay.
 * The token client therefore starts on node:http and moves here once a process fetches often.
 */
import type { Client } from "undici";
import { AaError } from "../errors.js";
import { type HttpResponse, parseKbsBaseUrl, USER_AGENT } from "./http.js";

/** Options for {@link createResourceHttp}. */
export interface ResourceHttpOptions {
  /** PEM certificates trusted for an https Trustee (its own root). */
  certs?: string[];
  timeoutMs?: number;
  maxResponseBytes?: number;
}

/** GETs with a bearer token (and an optional If-None-Match) against one base URL. */
export interface ResourceHttp {
  get(path: string, bearer: string, ifNoneMatch?: string): Promise<HttpResponse>;
  /** Starts loading undici in the background (idempotent). */
  preload(): void;
  /** True once undici is loaded, so a GET starts without waiting for it. */
  ready(): boolean;
  close(): void;
}

type Undici = typeof import("undici");
let undici: Promise<Undici> | undefined;
let loaded: Undici | undefined;
const loadUndici = (): Promise<Undici> => {
  // undici is CommonJS: its exports object is the namespace's `default` when Node loads it
  // (not every member is detected as a named export), the namespace itself when bundled.
  undici ??= import("undici").then((m) => {
    loaded = (m as { default?: Undici }).default ?? m;
    return loaded;
  });
  return undici;
};

/** Creates the client for `baseUrl` (trailing `/` trimmed, as upstream). */
export function createResourceHttp(baseUrl: string, opts: ResourceHttpOptions = {}): ResourceHttp {
  const base = parseKbsBaseUrl(baseUrl);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxBytes = opts.maxResponseBytes ?? 32 << 20;
  const prefix = base.pathname.replace(/\/+$/, "");
  let client: Client | undefined;
  let closed = false;
  const clientOf = (u: Undici): Client => {
    client ??= new u.Client(base.origin, {
      pipelining: 1,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      maxResponseSize: maxBytes,
      ...(base.protocol === "https:" && opts.certs?.length ? { connect: { ca: opts.certs } } : {}),
    });
    return client;
  };

  // `dispatch` with a handler rather than `request`: no body stream and no extra promise per
  // response (less CPU on every cached GetResource). The client's limits still apply: the
  // headers and body timeouts and `maxResponseSize` are enforced by its HTTP/1.1 parser.
  const send = (c: Client, path: string, headers: string[]) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let status = 0;
      let contentType = "";
      let etag: string | undefined;
      c.dispatch(
        { method: "GET", path, headers },
        {
          onRequestStart() {},
          onResponseStart(_c, statusCode, h) {
            status = statusCode;
            contentType = String(h["content-type"] ?? "");
            const e = h.etag;
            etag = typeof e === "string" ? e : undefined;
          },
          onResponseData(_c, chunk) {
            chunks.push(chunk);
          },
          onResponseEnd() {
            const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
            const out: HttpResponse = { status, body, contentType };
            if (etag !== undefined) out.etag = etag;
            resolve(out);
          },
          onResponseError(_c, err) {
            reject(err);
          },
        },
      );
    });

  return {
    async get(path, bearer, ifNoneMatch) {
      // undici validates header names and values (no CR/LF can reach the wire).
      const headers: string[] = ["user-agent", USER_AGENT, "authorization", `Bearer ${bearer}`];
      if (ifNoneMatch !== undefined) headers.push("if-none-match", ifNoneMatch);
      const u = loaded ?? (await loadUndici());
      if (closed) {
        throw new AaError("ERR_KBS_CLIENT_UNREACHABLE", `GET ${path} not sent: client closed`);
      }
      const { errors } = u;
      try {
        return await send(clientOf(u), `${prefix}${path}`, headers);
      } catch (err) {
        if (err instanceof AaError) throw err;
        if (err instanceof errors.ResponseExceededMaxSizeError) {
          throw new AaError("ERR_KBS_CLIENT_RESPONSE", `KBS response exceeds ${maxBytes} bytes`, {
            cause: err,
          });
        }
        if (err instanceof errors.InvalidArgumentError) {
          // e.g. a token with a control character: refused before anything is sent.
          throw new AaError("ERR_KBS_CLIENT_TOKEN", `GET ${path} not sent: ${err.message}`, {
            cause: err,
          });
        }
        if (err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) {
          throw new AaError(
            "ERR_KBS_CLIENT_UNREACHABLE",
            `KBS did not answer GET ${path} within ${timeoutMs} ms`,
            { cause: err },
          );
        }
        const e = err as NodeJS.ErrnoException;
        throw new AaError(
          "ERR_KBS_CLIENT_UNREACHABLE",
          `KBS at ${base.origin} unreachable: ${e.code ?? e.message}`,
          { cause: err },
        );
      }
    },
    preload() {
      loadUndici().catch(() => {});
    },
    ready() {
      return loaded !== undefined;
    },
    close() {
      closed = true;
      void client?.destroy().catch(() => {});
    },
  };
}
