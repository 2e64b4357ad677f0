import { CDH_SERVICES, CdhMessages, TtrpcClient } from "../../protocol/ttrpc/index.js";
import { AgentError } from "./errors.js";

/** Pulls, verifies, decrypts and unpacks an image into `<bundlePath>/rootfs` inside the guest. */
export interface ImagePuller {
  pull(imageRef: string, bundlePath: string): Promise<{ manifestDigest: string }>;
}

/** Turns a `sealed.` secret into its plaintext inside the guest. */
export interface SecretUnsealer {
  unseal(sealed: string): Promise<Uint8Array>;
}

/** Default CDH socket, as upstream. */
export const CDH_ADDRESS = "unix:///run/confidential-containers/cdh.sock";

/**
 * The agent's client of the Confidential Data Hub (ttrpc `api.ImagePullService` and
 * `api.SealedSecretService`), as upstream's agent calls it. Errors carry CDH's status message,
 * which never holds secret material.
 */
export function createCdhClient(
  address = CDH_ADDRESS,
  opts: { pullTimeoutMs?: number } = {},
): ImagePuller & SecretUnsealer & { close(): void } {
  const client = new TtrpcClient(address);
  return {
    async pull(imageRef, bundlePath) {
      try {
        const r = await client.call(
          CDH_SERVICES.imagePull,
          "PullImage",
          CdhMessages.ImagePullRequest,
          CdhMessages.ImagePullResponse,
          { imageUrl: imageRef, bundlePath },
          { timeoutMs: opts.pullTimeoutMs ?? 600_000 },
        );
        return { manifestDigest: r.manifestDigest };
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
    async unseal(sealed) {
      try {
        const r = await client.call(
          CDH_SERVICES.sealedSecret,
          "UnsealSecret",
          CdhMessages.UnsealSecretInput,
          CdhMessages.UnsealSecretOutput,
          { secret: new TextEncoder().encode(sealed) },
        );
        return r.plaintext;
      } catch (err) {
        throw new AgentError(
          "ERR_AGENT_UNSEAL",
          `unsealing a sealed secret failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    },
    close: () => client.close(),
  };
}
