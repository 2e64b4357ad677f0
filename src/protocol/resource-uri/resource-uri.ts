/**
 * KBS resource URIs (guest-components `deps/resource_uri`, attestation-agent/docs/RESOURCE_URI.md):
 * `kbs[+<plugin>]://[<host[:port]>]/<seg>[/<seg>…][?<query>]`. `kbs://` means plugin
 * `resource`. The authority is parsed but ignored by guest components (the KBS address comes
 * from configuration), hence the usual `kbs:///repo/type/tag`.
 */
import { CocoError } from "../../errors.js";

/** Codes for resource URI failures. */
export type ResourceUriErrorCode = "ERR_RESOURCE_URI";

/** A malformed resource URI. */
export class ResourceUriError extends CocoError<ResourceUriErrorCode> {}

/** A parsed resource URI. */
export interface ResourceUri {
  /** `host[:port]` from the authority (may be empty; informational only). */
  kbsAddress: string;
  /** Trustee plugin name, `resource` for plain `kbs://`. */
  plugin: string;
  /** Path segments, never empty, never `.`/`..`. */
  segments: string[];
  /** Query string without `?`, forwarded verbatim (undefined when absent). */
  query?: string;
}

/** Default plugin for `kbs://` URIs. */
export const DEFAULT_PLUGIN = "resource";
const MAX_URI_LENGTH = 4096;
const URI_RE = /^kbs(?:\+([^:/?#]*))?:\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/;
const PLUGIN_RE = /^[A-Za-z0-9_-]+$/;
const BAD_SEGMENT_CHARS = /[\u0000-\u001f\u007f\\]/;

function fail(why: string): never {
  throw new ResourceUriError("ERR_RESOURCE_URI", `invalid resource URI: ${why}`);
}

/** True when `s` looks like a KBS resource URI (scheme `kbs` or `kbs+…`). */
export function isResourceUri(s: string): boolean {
  return /^kbs(\+[^:/?#]*)?:\/\//.test(s);
}

/** Parses a resource URI; every violation is ERR_RESOURCE_URI naming the rule. */
export function parseResourceUri(uri: string): ResourceUri {
  if (uri.length > MAX_URI_LENGTH) fail(`longer than ${MAX_URI_LENGTH} characters`);
  const m = URI_RE.exec(uri);
  if (!m) {
    if (!isResourceUri(uri)) fail("scheme must be kbs:// or kbs+<plugin>://");
    fail("fragments are not allowed");
  }
  const plugin = m[1] === undefined ? DEFAULT_PLUGIN : m[1];
  if (plugin === "") fail("kbs+ needs a plugin name");
  if (!PLUGIN_RE.test(plugin)) fail(`plugin name ${JSON.stringify(plugin)} has illegal characters`);
  const path = (m[3] ?? "").replace(/^\//, "");
  if (path === "") fail("the path is empty");
  const segments = path.split("/");
  for (const seg of segments) {
    if (seg === "") fail("a path segment is empty");
    if (seg === "." || seg === "..") fail("path segments . and .. are not allowed");
    if (BAD_SEGMENT_CHARS.test(seg))
      fail("a path segment contains a control character or backslash");
  }
  const out: ResourceUri = { kbsAddress: m[2] ?? "", plugin, segments };
  if (m[4] !== undefined) out.query = m[4];
  return out;
}

/**
 * Builds a resource URI from a bare `repo/type/tag` path (trustee-attester's `--path`), with
 * or without a leading `/`. Upstream keeps a leading empty segment here and requests
 * `…/resource//a/b/c` (a QUIRK we fix: the empty segment is dropped).
 */
export function resourceUriFromPath(path: string): ResourceUri {
  if (isResourceUri(path)) return parseResourceUri(path);
  return parseResourceUri(`kbs:///${path.replace(/^\/+/, "")}`);
}

/** Serializes: `kbs://<addr>/<segs>` for the default plugin, else `kbs+<plugin>://…`. */
export function formatResourceUri(u: ResourceUri): string {
  const scheme = u.plugin === DEFAULT_PLUGIN ? "kbs" : `kbs+${u.plugin}`;
  const q = u.query === undefined ? "" : `?${u.query}`;
  return `${scheme}://${u.kbsAddress}/${u.segments.join("/")}${q}`;
}

/** The KBS HTTP path for a resource: `/kbs/v0/<plugin>/<seg>/…[?query]`. */
export function kbsPathOf(u: ResourceUri): string {
  const q = u.query === undefined ? "" : `?${u.query}`;
  return `/kbs/v0/${u.plugin}/${u.segments.join("/")}${q}`;
}

/** `repo/type/tag` key used by offline KBCs; requires plugin `resource` and 3 segments. */
export function resourceKey(u: ResourceUri): string {
  if (u.plugin !== DEFAULT_PLUGIN || u.segments.length !== 3) {
    fail("offline and sample KBCs accept only kbs:///<repository>/<type>/<tag>");
  }
  return u.segments.join("/");
}
