/**
 * OCI distribution API client for one registry: manifests, blobs, `HEAD` checks and uploads,
 * with anonymous, Basic and Bearer-challenge authentication.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { type Readable, Transform } from "node:stream";
import { parseDigest, sha256Digest } from "../digest.js";
import { OciError } from "../errors.js";
import { MANIFEST_MAX_BYTES } from "../manifest.js";
import { MediaType } from "../media-types.js";
import { basicAuthorization, type Credentials, parseChallenge } from "./auth.js";
import {
  createHttpTransport,
  type HttpOptions,
  type HttpRequest,
  type HttpResponse,
  readBody,
} from "./http.js";

/** How to reach one registry. */
export interface RegistryClientOptions {
  /** API host with optional port (`registry-1.docker.io`, `127.0.0.1:5000`). */
  host: string;
  /** Allow plain HTTP (and unverified TLS), as registries.conf `insecure` / `--tls-verify=false`. */
  insecure?: boolean;
  tls?: HttpOptions;
  credentials?: Credentials;
}

/** A fetched manifest or index. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  /** The sha256 digest of the bytes as received. */
  digest: string;
}

/** The distribution API for one registry. */
export interface RegistryClient {
  readonly host: string;
  getManifest(repository: string, reference: string): Promise<FetchedManifest>;
  /** The digest a tag currently points to, or undefined when absent. */
  headManifest(
    repository: string,
    reference: string,
  ): Promise<{ digest: string; mediaType: string } | undefined>;
  /** Opens a blob for streaming; the caller verifies the digest while reading. */
  openBlob(repository: string, digest: string): Promise<IncomingMessage>;
  /** Reads a small blob whole and verifies its digest. */
  getBlobBytes(repository: string, digest: string, limit: number): Promise<Buffer>;
  blobExists(repository: string, digest: string): Promise<boolean>;
  /** Uploads a blob (monolithic) unless the registry has it; returns its digest. */
  putBlob(repository: string, bytes: Uint8Array): Promise<string>;
  /** Uploads a blob from a stream (POST, one chunked PATCH, PUT with the digest); returns its digest. */
  putBlobStream(repository: string, data: Readable): Promise<string>;
  putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<string>;
  close(): void;
}

const ACCEPT_MANIFESTS = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
].join(", ");

/** Creates a client; the scheme (https, or http for insecure registries) is probed lazily. */
export function createRegistryClient(opts: RegistryClientOptions): RegistryClient {
  const insecure = opts.insecure === true;
  const http = createHttpTransport({
    ...opts.tls,
    insecureSkipVerify: insecure || opts.tls?.insecureSkipVerify === true,
  });
  const tokens = new Map<string, string>();
  let useBasic = false;
  let base: Promise<string> | undefined;

  const resolveBase = (): Promise<string> => {
    base ??= (async () => {
      if (!insecure) return `https://${opts.host}`;
      try {
        const res = await http.send({ method: "GET", url: `https://${opts.host}/v2/` });
        res.body.resume();
        return `https://${opts.host}`;
      } catch {
        return `http://${opts.host}`;
      }
    })();
    return base;
  };

  const fetchToken = async (params: Record<string, string>, scope: string): Promise<string> => {
    const realm = params.realm;
    if (realm === undefined)
      throw new OciError("ERR_OCI_AUTH", `${opts.host}: bearer challenge without realm`);
    // The realm comes from the registry (untrusted): a bad URL or scheme is a coded error.
    let u: URL;
    try {
      u = new URL(realm);
    } catch {
      throw new OciError("ERR_OCI_AUTH", `${opts.host}: bearer challenge realm is not a URL`);
    }
    if (u.protocol !== "https:" && u.protocol !== "http:")
      throw new OciError(
        "ERR_OCI_AUTH",
        `${opts.host}: bearer realm scheme ${u.protocol} is not http(s)`,
      );
    if (params.service !== undefined) u.searchParams.set("service", params.service);
    u.searchParams.set("scope", scope);
    const headers: Record<string, string> = {};
    // Credentials go to the token realm only over HTTPS (or when the registry itself is insecure).
    if (opts.credentials !== undefined && (u.protocol === "https:" || insecure))
      headers.Authorization = basicAuthorization(opts.credentials);
    const res = await http.send({ method: "GET", url: u.href, headers });
    const body = await readBody(res, 1024 * 1024, "token response");
    if (res.status !== 200) {
      throw new OciError(
        "ERR_OCI_AUTH",
        `${opts.host}: token endpoint answered ${res.status} for scope ${scope}${opts.credentials ? "" : " (anonymous)"}`,
      );
    }
    let tok: unknown;
    try {
      const j = JSON.parse(body.toString("utf8")) as { token?: unknown; access_token?: unknown };
      tok = j.token ?? j.access_token;
    } catch {
      // handled below
    }
    if (typeof tok !== "string" || tok === "")
      throw new OciError("ERR_OCI_AUTH", `${opts.host}: token response has no token`);
    return tok;
  };

  const send = async (
    req: Omit<HttpRequest, "url"> & { path: string },
    scope: string,
  ): Promise<HttpResponse> => {
    const url = `${await resolveBase()}${req.path}`;
    const withAuth = (): HttpRequest => {
      const headers = { ...req.headers };
      const tok = tokens.get(scope);
      if (tok !== undefined) headers.Authorization = `Bearer ${tok}`;
      else if (useBasic && opts.credentials !== undefined)
        headers.Authorization = basicAuthorization(opts.credentials);
      const r: HttpRequest = { method: req.method, url, headers };
      if (req.body !== undefined) r.body = req.body;
      return r;
    };
    const res = await http.send(withAuth());
    if (res.status !== 401) return res;
    if (req.body !== undefined && !(req.body instanceof Uint8Array)) {
      res.body.resume();
      throw new OciError("ERR_OCI_AUTH", `${opts.host}: streamed upload was refused (401)`);
    }
    res.body.resume();
    const ch = parseChallenge(res.headers["www-authenticate"]);
    if (ch === undefined)
      throw new OciError(
        "ERR_OCI_AUTH",
        `${opts.host}: 401 without a usable WWW-Authenticate challenge`,
      );
    if (ch.scheme === "basic") {
      if (opts.credentials === undefined || useBasic) {
        throw new OciError(
          "ERR_OCI_AUTH",
          `${opts.host}: ${useBasic ? "credentials rejected" : "registry requires credentials and none are configured"}`,
        );
      }
      useBasic = true;
    } else {
      if (tokens.has(scope)) tokens.delete(scope);
      tokens.set(scope, await fetchToken(ch.params, scope));
    }
    const again = await http.send(withAuth());
    if (again.status === 401) {
      again.body.resume();
      throw new OciError("ERR_OCI_AUTH", `${opts.host}: access denied for ${scope}`);
    }
    return again;
  };

  const pull = (repo: string) => `repository:${repo}:pull`;
  const push = (repo: string) => `repository:${repo}:pull,push`;
  const fail = async (res: HttpResponse, what: string): Promise<never> => {
    const body = await readBody(res, 64 * 1024, "error body").catch(() => Buffer.alloc(0));
    let detail = "";
    try {
      const j = JSON.parse(body.toString("utf8")) as {
        errors?: { code?: string; message?: string }[];
      };
      detail = (j.errors ?? [])
        .map((e) => `${e.code ?? ""} ${e.message ?? ""}`.trim())
        .join("; ")
        .slice(0, 300);
    } catch {
      // not the distribution error format
    }
    throw new OciError(
      res.status === 404 ? "ERR_OCI_NOT_FOUND" : "ERR_OCI_HTTP",
      `${opts.host}: ${what}: HTTP ${res.status}${detail ? ` (${detail})` : ""}`,
    );
  };

  return {
    host: opts.host,
    async getManifest(repo, reference) {
      const res = await send(
        {
          method: "GET",
          path: `/v2/${repo}/manifests/${reference}`,
          headers: { Accept: ACCEPT_MANIFESTS },
        },
        pull(repo),
      );
      if (res.status !== 200) return fail(res, `manifest ${repo}:${reference}`);
      const bytes = await readBody(res, MANIFEST_MAX_BYTES, "manifest");
      let digest = sha256Digest(bytes);
      if (reference.includes(":")) {
        const want = parseDigest(reference);
        const got = `${want.algorithm}:${createHash(want.algorithm).update(bytes).digest("hex")}`;
        if (got !== reference)
          throw new OciError(
            "ERR_OCI_DIGEST_MISMATCH",
            `manifest for ${repo}@${reference} hashes to ${got}`,
          );
        digest = reference;
      }
      const mediaType = String(res.headers["content-type"] ?? "")
        .split(";")[0]!
        .trim();
      return { bytes, mediaType, digest };
    },
    async headManifest(repo, reference) {
      const res = await send(
        {
          method: "HEAD",
          path: `/v2/${repo}/manifests/${reference}`,
          headers: { Accept: ACCEPT_MANIFESTS },
        },
        pull(repo),
      );
      res.body.resume();
      if (res.status === 404) return undefined;
      if (res.status !== 200) return fail(res, `manifest ${repo}:${reference}`);
      const digest = res.headers["docker-content-digest"];
      if (typeof digest !== "string") {
        const m = await this.getManifest(repo, reference);
        return { digest: m.digest, mediaType: m.mediaType };
      }
      parseDigest(digest);
      return {
        digest,
        mediaType: String(res.headers["content-type"] ?? "")
          .split(";")[0]!
          .trim(),
      };
    },
    async openBlob(repo, digest) {
      parseDigest(digest);
      const res = await send({ method: "GET", path: `/v2/${repo}/blobs/${digest}` }, pull(repo));
      if (res.status !== 200) return fail(res, `blob ${digest}`);
      return res.body;
    },
    async getBlobBytes(repo, digest, limit) {
      parseDigest(digest);
      const res = await send({ method: "GET", path: `/v2/${repo}/blobs/${digest}` }, pull(repo));
      if (res.status !== 200) return fail(res, `blob ${digest}`);
      const bytes = await readBody(res, limit, `blob ${digest}`);
      const d = parseDigest(digest);
      const got = `${d.algorithm}:${createHash(d.algorithm).update(bytes).digest("hex")}`;
      if (got !== digest)
        throw new OciError("ERR_OCI_DIGEST_MISMATCH", `blob ${digest} hashes to ${got}`);
      return bytes;
    },
    async blobExists(repo, digest) {
      const res = await send({ method: "HEAD", path: `/v2/${repo}/blobs/${digest}` }, pull(repo));
      res.body.resume();
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      return fail(res, `blob ${digest}`);
    },
    async putBlob(repo, bytes) {
      const digest = sha256Digest(bytes);
      const head = await send({ method: "HEAD", path: `/v2/${repo}/blobs/${digest}` }, push(repo));
      head.body.resume();
      if (head.status === 200) return digest;
      const start = await send({ method: "POST", path: `/v2/${repo}/blobs/uploads/` }, push(repo));
      start.body.resume();
      if (start.status !== 202 || typeof start.headers.location !== "string")
        return fail(start, "start blob upload");
      const base = await resolveBase();
      const loc = new URL(start.headers.location, `${base}/`);
      if (loc.host !== new URL(base).host)
        throw new OciError("ERR_OCI_HTTP", `${opts.host}: upload location on another host`);
      loc.searchParams.set("digest", digest);
      const put = await send(
        {
          method: "PUT",
          path: `${loc.pathname}${loc.search}`,
          headers: { "Content-Type": "application/octet-stream" },
          body: bytes,
        },
        push(repo),
      );
      put.body.resume();
      if (put.status !== 201) return fail(put, `upload blob ${digest}`);
      return digest;
    },
    async putBlobStream(repo, data) {
      const start = await send({ method: "POST", path: `/v2/${repo}/blobs/uploads/` }, push(repo));
      start.body.resume();
      if (start.status !== 202 || typeof start.headers.location !== "string")
        return fail(start, "start blob upload");
      const base = await resolveBase();
      const sameHost = (l: string) => {
        const u = new URL(l, `${base}/`);
        if (u.host !== new URL(base).host)
          throw new OciError("ERR_OCI_HTTP", `${opts.host}: upload location on another host`);
        return u;
      };
      const hash = createHash("sha256");
      const tap = new Transform({
        transform(chunk: Buffer, _e, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      data.once("error", (err) => tap.destroy(err));
      data.pipe(tap);
      const loc = sameHost(start.headers.location);
      const patch = await send(
        {
          method: "PATCH",
          path: `${loc.pathname}${loc.search}`,
          headers: { "Content-Type": "application/octet-stream" },
          body: tap,
        },
        push(repo),
      );
      patch.body.resume();
      if (patch.status !== 202 || typeof patch.headers.location !== "string")
        return fail(patch, "upload blob data");
      const digest = `sha256:${hash.digest("hex")}`;
      const done = sameHost(patch.headers.location);
      done.searchParams.set("digest", digest);
      const put = await send(
        { method: "PUT", path: `${done.pathname}${done.search}`, body: new Uint8Array(0) },
        push(repo),
      );
      put.body.resume();
      if (put.status !== 201) return fail(put, `finish blob upload ${digest}`);
      return digest;
    },
    async putManifest(repo, reference, bytes, mediaType) {
      const res = await send(
        {
          method: "PUT",
          path: `/v2/${repo}/manifests/${reference}`,
          headers: { "Content-Type": mediaType },
          body: bytes,
        },
        push(repo),
      );
      res.body.resume();
      if (res.status !== 201) return fail(res, `put manifest ${repo}:${reference}`);
      return sha256Digest(bytes);
    },
    close() {
      http.close();
    },
  };
}
