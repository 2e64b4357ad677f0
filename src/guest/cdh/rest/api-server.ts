/**
 * The workload-facing REST API (guest-components api-server-rest): HTTP/1.1 on 127.0.0.1:8006,
 * loopback callers only (others get 403), forwarding to AA and CDH over ttrpc.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type CanonicalRequestPath,
  canonicalRequestPath,
  parseResourcePath,
  type ResourcePath,
} from "../../../protocol/kbs/index.js";
import {
  AA_SERVICE,
  AaMessages,
  CDH_SERVICES,
  CdhMessages,
  RuntimeMeasurementResult,
  TtrpcClient,
} from "../../../protocol/ttrpc/index.js";
import { packageVersion } from "../../../version.js";

/** Which groups of endpoints are served. */
export type ApiFeature = "resource" | "attestation" | "all";

/** Options for {@link startApiServer}. */
export interface ApiServerOptions {
  bind?: string;
  features?: ApiFeature;
  cdhAddr: string;
  aaAddr: string;
  /** ttrpc call timeout (upstream 50 s). */
  timeoutMs?: number;
}

/** A running API server. */
export interface ApiServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 << 10;

function send(
  res: ServerResponse,
  status: number,
  body: string | Uint8Array,
  type = "text/plain",
): void {
  const data = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  res.writeHead(status, { "content-type": type, "content-length": String(data.length) });
  res.end(data);
}

/**
 * True for a Host header naming loopback: `localhost`, `127.x.y.z` or `[::1]`, with or without
 * a port. Anything else (absent, or a name a DNS-rebinding page resolved to 127.0.0.1) is not.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const m = /^(\[::1\]|localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3})(:\d{1,5})?$/i.exec(host);
  return m !== null;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.startsWith("::ffff:") ? addr.slice(7) : addr;
  return a === "::1" || /^127\.\d+\.\d+\.\d+$/.test(a);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", () => resolve(undefined));
  });
}

function runtimeData(q: URLSearchParams): Uint8Array | undefined {
  const rd = q.get("runtime_data");
  if (rd === null) return undefined;
  const enc = q.get("encoding");
  if (enc === null) return Buffer.from(rd, "utf8");
  if (enc === "base64") {
    if (!/^[A-Za-z0-9_-]*$/.test(rd)) return undefined;
    return Buffer.from(rd, "base64url");
  }
  return undefined;
}

/** Starts the API server. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const features = opts.features ?? "resource";
  const attestation = features === "attestation" || features === "all";
  const resource = features === "resource" || features === "all";
  const timeoutMs = opts.timeoutMs ?? 50_000;
  const aa = new TtrpcClient(opts.aaAddr, { timeoutMs });
  const cdh = new TtrpcClient(opts.cdhAddr, { timeoutMs });
  const [host, portText] = (opts.bind ?? "127.0.0.1:8006").split(/:(?=\d+$)/);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!isLoopback(req.socket.remoteAddress)) return send(res, 403, "Forbidden");
    // A page in a guest browser that rebound its own name to 127.0.0.1 still sends that name.
    if (!isLoopbackHost(req.headers.host))
      return send(res, 403, "Forbidden: Host must be a loopback name");
    let canonical: CanonicalRequestPath;
    try {
      canonical = canonicalRequestPath(req.url ?? "/");
    } catch (err) {
      req.resume();
      return send(res, 400, (err as Error).message);
    }
    const path = canonical.path;
    const q = new URLSearchParams(canonical.rawQuery ?? "");
    try {
      if (path === "/info") {
        if (req.method !== "GET") return send(res, 405, "Method Not Allowed");
        const info: Record<string, unknown> = { version: `v${packageVersion()}` };
        if (attestation) {
          const t = await aa.call(
            AA_SERVICE,
            "GetTeeType",
            AaMessages.GetTeeTypeRequest,
            AaMessages.GetTeeTypeResponse,
            {},
          );
          info.tee = t.tee;
          const d = await aa.call(
            AA_SERVICE,
            "GetAdditionalTees",
            AaMessages.GetAdditionalTeesRequest,
            AaMessages.GetAdditionalTeesResponse,
            {},
          );
          if (d.additionalTees.length > 0) info.additional_tees = d.additionalTees;
        }
        info.feature = features;
        return send(res, 200, JSON.stringify(info), "application/json");
      }
      if (path.startsWith("/aa/")) {
        if (!attestation) return send(res, 404, "Attestation Feature Not Enabled");
        if (path === "/aa/token" && req.method === "GET") {
          const tt = q.get("token_type");
          if (tt === null) return send(res, 400, "BAD REQUEST");
          const r = await aa.call(
            AA_SERVICE,
            "GetToken",
            AaMessages.GetTokenRequest,
            AaMessages.GetTokenResponse,
            { TokenType: tt },
          );
          return send(res, 200, r.Token, "application/octet-stream");
        }
        if (
          (path === "/aa/evidence" || path === "/aa/additional-evidence") &&
          req.method === "GET"
        ) {
          const rd = runtimeData(q);
          if (rd === undefined) return send(res, 400, "BAD REQUEST");
          const method = path === "/aa/evidence" ? "GetEvidence" : "GetAdditionalEvidence";
          const payload =
            method === "GetEvidence"
              ? AaMessages.GetEvidenceRequest.encode({ RuntimeData: rd })
              : AaMessages.GetAdditionalEvidenceRequest.encode({ RuntimeData: rd });
          const r = AaMessages.GetEvidenceResponse.decode(
            await aa.callRaw(AA_SERVICE, method, payload),
          );
          return send(res, 200, r.Evidence, "application/octet-stream");
        }
        if (path === "/aa/aael" && req.method === "POST") {
          const body = await readBody(req);
          let ev: { domain?: unknown; operation?: unknown; content?: unknown };
          try {
            ev = JSON.parse(body?.toString("utf8") ?? "");
          } catch {
            return send(res, 500, "invalid JSON body");
          }
          if (
            typeof ev.domain !== "string" ||
            typeof ev.operation !== "string" ||
            typeof ev.content !== "string"
          ) {
            return send(res, 500, "body needs string domain, operation and content");
          }
          const r = await aa.call(
            AA_SERVICE,
            "ExtendRuntimeMeasurement",
            AaMessages.ExtendRuntimeMeasurementRequest,
            AaMessages.ExtendRuntimeMeasurementResponse,
            { Domain: ev.domain, Operation: ev.operation, Content: ev.content },
          );
          const out =
            r.Result === RuntimeMeasurementResult.OK
              ? { success: "true" }
              : r.Result === RuntimeMeasurementResult.NOT_SUPPORTED
                ? { success: "false", message: "The platform does not support runtime measurement" }
                : {
                    success: "false",
                    message: "Attestation Agent does not enable eventlog recording",
                  };
          return send(res, 200, JSON.stringify(out), "application/json");
        }
        return send(res, 404, "URL NOT FOUND");
      }
      if (path.startsWith("/cdh/")) {
        if (!resource) return send(res, 404, "Resource Feature Not Enabled");
        if (path.startsWith("/cdh/resource/") && req.method === "GET") {
          let resourcePath: ResourcePath;
          try {
            resourcePath = parseResourcePath(canonical.segments.slice(2));
          } catch (err) {
            return send(res, 400, (err as Error).message);
          }
          const rest = `/${resourcePath.key}`;
          const r = await cdh.call(
            CDH_SERVICES.getResource,
            "GetResource",
            CdhMessages.GetResourceRequest,
            CdhMessages.GetResourceResponse,
            {
              ResourcePath: `kbs://${rest}`,
            },
          );
          return send(res, 200, r.Resource, "application/octet-stream");
        }
        return send(res, 404, "URL NOT FOUND");
      }
      return send(res, 404, "URL NOT FOUND");
    } catch (err) {
      return send(res, 500, err instanceof Error ? err.message : String(err));
    }
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = timeoutMs + 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(portText ?? "8006"), host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host}:${port}`,
    async close() {
      aa.close();
      cdh.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
