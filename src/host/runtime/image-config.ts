import { CONFIG_MAX_BYTES, type ImageConfig, parseImageConfig } from "../../oci/manifest.js";
import { resolveImage } from "../../oci/pull.js";
import {
  apiHost,
  formatReference,
  parseReference,
  referenceSelector,
} from "../../oci/reference.js";
import { createRegistryClient } from "../../oci/registry/client.js";
import { createRegistrySource } from "../../oci/source.js";
import { HostError } from "../errors.js";

/** What the host learns about an image without touching its layers. */
export interface ImageInfo {
  /** `registry/repo@sha256:…` — the reference the policy pins. */
  pinned: string;
  manifestDigest: string;
  config: ImageConfig["config"];
}

/** True for registries reached over plain HTTP: loopback hosts, as docker does for localhost. */
export function isLoopbackRegistry(registry: string): boolean {
  return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(registry);
}

/**
 * Resolves an image's manifest digest and config (Entrypoint, Cmd, Env, WorkingDir, User). Only
 * manifests and the config are fetched, anonymously — as upstream's host does under guest pull;
 * layers are only ever pulled inside the guest.
 */
export async function fetchImageInfo(image: string): Promise<ImageInfo> {
  let ref: ReturnType<typeof parseReference>;
  try {
    ref = parseReference(image);
  } catch (err) {
    throw new HostError(
      "ERR_POD_MANIFEST",
      `image ${JSON.stringify(image)}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const client = createRegistryClient({
    host: apiHost(ref.registry),
    insecure: isLoopbackRegistry(ref.registry),
  });
  const source = createRegistrySource(client, ref.repository);
  try {
    const resolved = await resolveImage(source, referenceSelector(ref));
    const cfg = parseImageConfig(
      await source.getBlobBytes(resolved.manifest.config.digest, CONFIG_MAX_BYTES),
    );
    const pinnedDigest = resolved.listDigest ?? resolved.manifestDigest;
    return {
      pinned: formatReference({
        registry: ref.registry,
        repository: ref.repository,
        digest: pinnedDigest,
      }),
      manifestDigest: pinnedDigest,
      config: cfg.config,
    };
  } catch (err) {
    if (err instanceof HostError) throw err;
    throw new HostError(
      "ERR_POD_MANIFEST",
      `cannot read image ${image}: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    source.close();
  }
}
