/**
 * Image manifests, indexes and configs: strict parsing of untrusted JSON into a small model,
 * and platform selection from an index.
 */

import { parseDigest } from "./digest.js";
import { OciError } from "./errors.js";
import { MediaType } from "./media-types.js";

/** Size limit for manifests and indexes (the distribution spec suggests 4 MiB). */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
/** Size limit for an image config blob. */
export const CONFIG_MAX_BYTES = 8 * 1024 * 1024;

/** A content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

/** An OS/architecture pair from an index entry or config. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An image manifest (OCI or Docker schema 2). */
export interface ImageManifest {
  kind: "manifest";
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** An image index (OCI) or manifest list (Docker). */
export interface ImageIndex {
  kind: "index";
  mediaType: string;
  manifests: Descriptor[];
}

/** The image config fields the guest uses. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    Labels?: Record<string, string>;
    Volumes?: Record<string, unknown>;
    StopSignal?: string;
    ExposedPorts?: Record<string, unknown>;
  };
  rootfs: { type: string; diff_ids: string[] };
  created?: string;
  author?: string;
}

function fail(what: string, why: string): never {
  throw new OciError("ERR_OCI_MANIFEST", `${what}: ${why}`);
}

function parseJson(bytes: Uint8Array, limit: number, what: string): Record<string, unknown> {
  if (bytes.byteLength > limit) {
    throw new OciError(
      "ERR_OCI_TOO_LARGE",
      `${what} is ${bytes.byteLength} bytes (limit ${limit})`,
    );
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch {
    fail(what, "not valid JSON");
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) fail(what, "not a JSON object");
  return v as Record<string, unknown>;
}

function stringMap(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) fail(what, "annotations must be an object");
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== "string") fail(what, `annotation '${k}' must be a string`);
    out[k] = val;
  }
  return out;
}

/** Validates one descriptor. */
export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    fail(what, "descriptor must be an object");
  const o = v as Record<string, unknown>;
  if (typeof o.mediaType !== "string") fail(what, "descriptor mediaType must be a string");
  try {
    parseDigest(o.digest);
  } catch (err) {
    fail(what, `descriptor digest: ${(err as Error).message}`);
  }
  if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0) {
    fail(what, "descriptor size must be a non-negative integer");
  }
  const d: Descriptor = { mediaType: o.mediaType, digest: o.digest as string, size: o.size };
  const ann = stringMap(o.annotations, what);
  if (ann !== undefined) d.annotations = ann;
  if (o.platform !== undefined) {
    const p = o.platform as Record<string, unknown>;
    if (
      p === null ||
      typeof p !== "object" ||
      typeof p.os !== "string" ||
      typeof p.architecture !== "string"
    ) {
      fail(what, "platform needs string os and architecture");
    }
    d.platform = { os: p.os, architecture: p.architecture };
    if (typeof p.variant === "string") d.platform.variant = p.variant;
  }
  return d;
}

/**
 * Parses a manifest or index. `contentType` is the HTTP Content-Type (or the descriptor's
 * media type); the body's own `mediaType` wins when present, as the specs require them to agree.
 */
export function parseManifestOrIndex(
  bytes: Uint8Array,
  contentType?: string,
): ImageManifest | ImageIndex {
  const o = parseJson(bytes, MANIFEST_MAX_BYTES, "manifest");
  if (o.schemaVersion !== 2)
    fail("manifest", "schemaVersion must be 2 (schema 1 is not supported)");
  const declared = typeof o.mediaType === "string" ? o.mediaType : undefined;
  const ct = contentType?.split(";")[0]?.trim();
  let mediaType = declared ?? ct;
  if (mediaType === undefined || mediaType === "application/json" || mediaType === "") {
    mediaType = Array.isArray(o.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  }
  if (mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList) {
    if (!Array.isArray(o.manifests)) fail("index", "manifests must be an array");
    if (o.manifests.length > 1000) fail("index", "more than 1000 manifests");
    return {
      kind: "index",
      mediaType,
      manifests: o.manifests.map((m, i) => parseDescriptor(m, `index.manifests[${i}]`)),
    };
  }
  if (mediaType !== MediaType.ociManifest && mediaType !== MediaType.dockerManifest) {
    throw new OciError(
      "ERR_OCI_MEDIA_TYPE",
      `unsupported manifest media type '${mediaType.slice(0, 100)}'`,
    );
  }
  if (!Array.isArray(o.layers)) fail("manifest", "layers must be an array");
  if (o.layers.length > 1000) fail("manifest", "more than 1000 layers");
  const m: ImageManifest = {
    kind: "manifest",
    mediaType,
    config: parseDescriptor(o.config, "manifest.config"),
    layers: o.layers.map((l, i) => parseDescriptor(l, `manifest.layers[${i}]`)),
  };
  const ann = stringMap(o.annotations, "manifest");
  if (ann !== undefined) m.annotations = ann;
  return m;
}

/** Parses and validates an image config blob. */
export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  const o = parseJson(bytes, CONFIG_MAX_BYTES, "image config");
  const rootfs = o.rootfs as Record<string, unknown> | undefined;
  if (
    rootfs === undefined ||
    rootfs === null ||
    typeof rootfs !== "object" ||
    !Array.isArray(rootfs.diff_ids)
  ) {
    fail("image config", "rootfs.diff_ids must be an array");
  }
  const diffIds = rootfs.diff_ids as unknown[];
  for (const [i, d] of diffIds.entries()) {
    try {
      parseDigest(d);
    } catch (err) {
      fail("image config", `rootfs.diff_ids[${i}]: ${(err as Error).message}`);
    }
  }
  const cfg = (o.config ?? {}) as Record<string, unknown>;
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg))
    fail("image config", "config must be an object");
  const strArray = (k: string): string[] | undefined => {
    const v = cfg[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
      fail("image config", `config.${k} must be an array of strings`);
    return v as string[];
  };
  const str = (v: unknown, k: string): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") fail("image config", `${k} must be a string`);
    return v;
  };
  const out: ImageConfig = {
    architecture: str(o.architecture, "architecture") ?? "",
    os: str(o.os, "os") ?? "",
    config: {},
    rootfs: { type: String(rootfs.type ?? "layers"), diff_ids: diffIds as string[] },
  };
  const variant = str(o.variant, "variant");
  if (variant !== undefined) out.variant = variant;
  const user = str(cfg.User, "config.User");
  if (user !== undefined) out.config.User = user;
  const wd = str(cfg.WorkingDir, "config.WorkingDir");
  if (wd !== undefined) out.config.WorkingDir = wd;
  const stop = str(cfg.StopSignal, "config.StopSignal");
  if (stop !== undefined) out.config.StopSignal = stop;
  for (const k of ["Env", "Entrypoint", "Cmd"] as const) {
    const v = strArray(k);
    if (v !== undefined) out.config[k] = v;
  }
  const labels = stringMap(cfg.Labels, "config.Labels");
  if (labels !== undefined) out.config.Labels = labels;
  for (const k of ["Volumes", "ExposedPorts"] as const) {
    const v = cfg[k];
    if (v !== undefined && v !== null && typeof v === "object")
      out.config[k] = v as Record<string, unknown>;
  }
  const created = str(o.created, "created");
  if (created !== undefined) out.created = created;
  const author = str(o.author, "author");
  if (author !== undefined) out.author = author;
  return out;
}

/** Go's GOARCH name for the running machine. */
export function hostPlatform(): Platform {
  const map: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    s390x: "s390x",
    ppc64: "ppc64le",
    ia32: "386",
    arm: "arm",
  };
  return { os: "linux", architecture: map[process.arch] ?? process.arch };
}

/** Picks the manifest for `want` from an index; ERR_OCI_PLATFORM when none matches. */
export function selectPlatform(index: ImageIndex, want: Platform = hostPlatform()): Descriptor {
  const candidates = index.manifests.filter(
    (m) =>
      (m.mediaType === MediaType.ociManifest || m.mediaType === MediaType.dockerManifest) &&
      m.platform?.os === want.os &&
      m.platform.architecture === want.architecture,
  );
  const exact = candidates.find(
    (m) => want.variant === undefined || m.platform?.variant === want.variant,
  );
  const found = exact ?? candidates[0];
  if (found === undefined) {
    const have = index.manifests
      .map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}` : "?"))
      .join(", ");
    throw new OciError(
      "ERR_OCI_PLATFORM",
      `no manifest for ${want.os}/${want.architecture} in the index (has: ${have || "none"})`,
    );
  }
  return found;
}
