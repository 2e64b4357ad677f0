import { type ImageVerifier, pullImage } from "../../oci/pull.js";
import { apiHost, parseReference, referenceSelector } from "../../oci/reference.js";
import { createRegistryClient } from "../../oci/registry/client.js";
import { createRegistrySource } from "../../oci/source.js";
import type { ImagePuller } from "./cdh-client.js";
import { AgentError } from "./errors.js";

/** Options for {@link createRegistryPuller}. */
export interface RegistryPullerOptions {
  /** The signature-policy step (required: pass `acceptAnything` from src/oci/pull explicitly). */
  verify: ImageVerifier;
  /** Registries reached over plain HTTP (loopback test registries). */
  insecureRegistries?: readonly string[];
}

/**
 * An image puller that runs the OCI pull pipeline inside the agent's own process, for sandboxes
 * that do not run a CDH (upstream's agent always asks CDH; `createCdhClient` does that). Same
 * pipeline, same checks: a digest-pinned reference must match the manifest bytes received.
 */
export function createRegistryPuller(opts: RegistryPullerOptions): ImagePuller {
  return {
    async pull(imageRef, bundlePath) {
      try {
        const ref = parseReference(imageRef);
        const host = apiHost(ref.registry);
        const client = createRegistryClient({
          host,
          insecure: opts.insecureRegistries?.includes(ref.registry) ?? false,
        });
        const source = createRegistrySource(client, ref.repository);
        try {
          const r = await pullImage({
            source,
            selector: referenceSelector(ref),
            bundleDir: bundlePath,
            verify: opts.verify,
            writeRuntimeConfig: false,
          });
          return { manifestDigest: r.manifestDigest };
        } finally {
          source.close();
        }
      } catch (err) {
        throw new AgentError(
          "ERR_AGENT_IMAGE_PULL",
          `image pull of ${imageRef} failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    },
  };
}
