/**
 * The image client configuration: the `[image]` table of the CDH config, with upstream's key
 * names (image-rs `ImageConfig`). Unknown keys are refused so a typo cannot silently disable
 * a policy.
 */
import { OciError } from "../../../oci/index.js";

/** Parsed `[image]` configuration. */
export interface ImagePullConfig {
  workDir: string;
  /** `kbs://…`, `file://…` or a bare path (treated as a file). */
  policyUri?: string;
  /** Inline policy JSON (the URI wins when both are set). */
  policy?: string;
  sigstoreConfigUri?: string;
  sigstoreConfig?: string;
  credentialsUri?: string;
  registryConfigUri?: string;
  registryConfig?: Record<string, unknown>;
  maxConcurrentLayerDownloads: number;
  extraRootCertificates: string[];
  /** Accept SHA-1 OpenPGP signatures (upstream does; we refuse by default). */
  allowSha1Signatures: boolean;
  /** Bound on the shared layer blob store in guest memory (0 disables it; default 2 GiB). */
  layerStoreMaxBytes: number;
}

/** The default work folder (upstream's `/run/kata-containers/image/`). */
export const DEFAULT_IMAGE_WORK_DIR = "/run/kata-containers/image";

const KNOWN = new Set([
  "work_dir",
  "image_security_policy_uri",
  "image_security_policy",
  "sigstore_config_uri",
  "sigstore_config",
  "authenticated_registry_credentials_uri",
  "registry_configuration_uri",
  "registry_config",
  "max_concurrent_layer_downloads_per_image",
  "extra_root_certificates",
  "image_pull_proxy",
  "allow_sha1_signatures",
  "layer_store_max_bytes",
]);

function str(t: Record<string, unknown>, k: string): string | undefined {
  const v = t[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new OciError("ERR_OCI_CONFIG", `[image] ${k} must be a string`);
  return v;
}

/** Parses the raw `[image]` table (undefined → defaults: no policy, which accepts any image). */
export function parseImagePullConfig(table: Record<string, unknown> | undefined): ImagePullConfig {
  const t = table ?? {};
  for (const k of Object.keys(t)) {
    if (!KNOWN.has(k))
      throw new OciError("ERR_OCI_CONFIG", `[image] has an unknown key '${k.slice(0, 60)}'`);
  }
  if (t.image_pull_proxy !== undefined) {
    throw new OciError(
      "ERR_OCI_NOT_IMPLEMENTED",
      "[image] image_pull_proxy is not supported by this image client",
    );
  }
  const max = t.max_concurrent_layer_downloads_per_image ?? 3;
  if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > 64) {
    throw new OciError(
      "ERR_OCI_CONFIG",
      "[image] max_concurrent_layer_downloads_per_image must be an integer 1..64",
    );
  }
  const roots = t.extra_root_certificates ?? [];
  if (!Array.isArray(roots) || roots.some((r) => typeof r !== "string")) {
    throw new OciError(
      "ERR_OCI_CONFIG",
      "[image] extra_root_certificates must be a list of PEM strings",
    );
  }
  const rc = t.registry_config;
  if (rc !== undefined && (rc === null || typeof rc !== "object" || Array.isArray(rc))) {
    throw new OciError("ERR_OCI_CONFIG", "[image] registry_config must be a table");
  }
  const storeMax = t.layer_store_max_bytes ?? 2 * 1024 ** 3;
  if (typeof storeMax !== "number" || !Number.isSafeInteger(storeMax) || storeMax < 0) {
    throw new OciError(
      "ERR_OCI_CONFIG",
      "[image] layer_store_max_bytes must be a non-negative integer",
    );
  }
  const c: ImagePullConfig = {
    layerStoreMaxBytes: storeMax,
    workDir: str(t, "work_dir") ?? DEFAULT_IMAGE_WORK_DIR,
    maxConcurrentLayerDownloads: max,
    extraRootCertificates: roots as string[],
    allowSha1Signatures: t.allow_sha1_signatures === true,
  };
  const set = <K extends keyof ImagePullConfig>(k: K, v: ImagePullConfig[K] | undefined) => {
    if (v !== undefined) c[k] = v;
  };
  set("policyUri", str(t, "image_security_policy_uri"));
  set("policy", str(t, "image_security_policy"));
  set("sigstoreConfigUri", str(t, "sigstore_config_uri"));
  set("sigstoreConfig", str(t, "sigstore_config"));
  set("credentialsUri", str(t, "authenticated_registry_credentials_uri"));
  set("registryConfigUri", str(t, "registry_configuration_uri"));
  set("registryConfig", rc as Record<string, unknown> | undefined);
  return c;
}
