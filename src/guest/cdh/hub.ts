/**
 * The Confidential Data Hub core (confidential-data-hub hub/src/hub.rs), independent of
 * transport: GetResource, UnsealSecret, UnWrapKey, SecureMount.
 */
import { parseResourceUri } from "../../protocol/resource-uri/index.js";
import type { ResourceGetter } from "./kbc/types.js";
import { handleUnwrapKey } from "./keyprovider/unwrap.js";
import { unsealSecret } from "./secret/unseal.js";
import { type SecureMountRequest, secureMount, type ToolRunner } from "./storage/secure-mount.js";

/** Options for {@link createConfidentialDataHub}. */
export interface CdhOptions {
  getter: ResourceGetter;
  skipSealedSecretVerification?: boolean;
  /** Folder of local sealed-secret verification keys. */
  sealedSecretKeyDir?: string;
  /** CDH base dir (LUKS headers live under it). */
  baseDir?: string;
  /** External tools for secure mount (cryptsetup, mkfs.ext4, mount). */
  tools?: ToolRunner;
}

/** The hub. */
export interface ConfidentialDataHub {
  getResource(resourcePath: string): Promise<Uint8Array>;
  unsealSecret(secret: Uint8Array): Promise<Uint8Array>;
  unwrapKey(input: Uint8Array): Promise<Uint8Array>;
  secureMount(req: SecureMountRequest): Promise<void>;
  close(): void;
}

/** Creates the hub. */
export function createConfidentialDataHub(opts: CdhOptions): ConfidentialDataHub {
  const unsealText = (text: string) =>
    unsealSecret(text, {
      getter: opts.getter,
      ...(opts.sealedSecretKeyDir ? { keyDir: opts.sealedSecretKeyDir } : {}),
      skipVerification: opts.skipSealedSecretVerification ?? false,
    });
  return {
    getResource: (path) => opts.getter.getResource(parseResourceUri(path)),
    unsealSecret: (secret) => unsealText(Buffer.from(secret).toString("utf8")),
    unwrapKey: (input) => handleUnwrapKey(input, opts.getter),
    secureMount: (req) =>
      secureMount(req, {
        getter: opts.getter,
        unseal: unsealText,
        ...(opts.baseDir ? { baseDir: opts.baseDir } : {}),
        ...(opts.tools ? { tools: opts.tools } : {}),
      }),
    close: () => opts.getter.close?.(),
  };
}
