/**
 * Stores a generated key in Trustee through the KBS admin API (`coco image encrypt --kbs-key`):
 * `POST <kbs>/kbs/v0/resource/<repo>/<type>/<tag>`, body = raw key bytes, bearer admin token
 * (as coco_keyprovider's auto-registration does, but the HTTP result is checked here).
 */
import { OciError } from "./errors.js";
import { createHttpTransport, readBody } from "./registry/http.js";

/** The `<repo>/<type>/<tag>` path of a key id (`kbs:///a/b/c`, `kbs://host/a/b/c`, `/a/b/c`, `a/b/c`). */
export function kidResourcePath(kid: string): string {
  let p = kid;
  const m = /^kbs:\/\/[^/]*(\/.*)$/.exec(kid);
  if (m) p = m[1]!;
  const parts = p.split("/").filter((s) => s !== "");
  if (
    parts.length !== 3 ||
    parts.some((s) => s === "." || s === ".." || !/^[A-Za-z0-9._-]+$/.test(s))
  ) {
    throw new OciError(
      "ERR_OCI_ENCRYPT",
      "key id must name <repository>/<type>/<tag>, e.g. kbs:///default/key/1",
    );
  }
  return parts.join("/");
}

/** The canonical `kbs:///repo/type/tag` form of a key id. */
export function normalizeKid(kid: string): string {
  return `kbs:///${kidResourcePath(kid)}`;
}

/** Uploads `key` as resource `kid`; throws ERR_OCI_HTTP with the KBS error text on failure. */
export async function storeKeyInTrustee(o: {
  kbsUrl: string;
  kid: string;
  key: Uint8Array;
  adminToken: string;
  ca?: string[];
}): Promise<void> {
  const http = createHttpTransport(o.ca ? { ca: o.ca } : {});
  try {
    const url = `${o.kbsUrl.replace(/\/+$/, "")}/kbs/v0/resource/${kidResourcePath(o.kid)}`;
    const res = await http.send({
      method: "POST",
      url,
      headers: {
        "Content-Type": "application/octet-stream",
        Authorization: `Bearer ${o.adminToken}`,
      },
      body: o.key,
    });
    const body = await readBody(res, 64 * 1024, "KBS answer").catch(() => Buffer.alloc(0));
    if (res.status < 200 || res.status >= 300) {
      throw new OciError(
        "ERR_OCI_HTTP",
        `KBS refused to store ${normalizeKid(o.kid)}: HTTP ${res.status} ${body.toString("utf8").slice(0, 300)}`,
      );
    }
  } finally {
    http.close();
  }
}
