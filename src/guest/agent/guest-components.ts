import { join } from "node:path";
import type { InitData } from "../../protocol/initdata/index.js";
import { parseAaConfig } from "../aa/config.js";
import { startAttestationAgent } from "../aa/daemon.js";
import { parseCdhConfig } from "../cdh/config.js";
import { startConfidentialDataHub } from "../cdh/daemon.js";
import {
  createImagePullService,
  keyproviderUnwrap,
  parseImagePullConfig,
} from "../cdh/image/index.js";
import type { ImagePuller, SecretUnsealer } from "./cdh-client.js";

/** Guest components the agent started, as its image puller and secret unsealer. */
export type GuestComponents = ImagePuller & SecretUnsealer & { close(): Promise<void> };

/**
 * Starts the Attestation Agent and the Confidential Data Hub from the init-data's aa.toml and
 * cdh.toml, as the Kata agent launches guest components (`guest_components_procs`): the AA gets
 * the init-data TOML (binds its digest where the TEE can, and sends the plaintext to Trustee),
 * CDH serves sealed secrets and the image pull service (pull, verify, decrypt in the guest).
 * Without a cdh.toml nothing starts and the caller falls back.
 */
export async function startGuestComponents(
  initData: InitData | undefined,
  o: { initdataDir: string; log?: (line: string) => void },
): Promise<GuestComponents | undefined> {
  const cdhText = initData?.data["cdh.toml"];
  if (!initData || cdhText === undefined) return undefined;
  const log = o.log ?? (() => {});
  const aaText = initData.data["aa.toml"];
  const aa = aaText
    ? await startAttestationAgent({
        config: parseAaConfig(aaText),
        initDataToml: join(o.initdataDir, "initdata.toml"),
        log,
      })
    : undefined;
  const cdhConfig = parseCdhConfig(cdhText);
  const cdh = await startConfidentialDataHub({ config: cdhConfig, log });
  const pulls = createImagePullService({
    config: parseImagePullConfig(cdhConfig.image),
    getResource: (uri) => cdh.hub.getResource(uri),
    unwrapKey: keyproviderUnwrap((input) => cdh.hub.unwrapKey(input)),
    log,
  });
  return {
    async pull(imageRef, bundlePath) {
      return { manifestDigest: await pulls.pullImage(imageRef, bundlePath) };
    },
    unseal: (sealed) => cdh.hub.unsealSecret(new TextEncoder().encode(sealed)),
    async close() {
      await cdh.close();
      await aa?.close();
    },
  };
}
