/**
 * Puts the hub behind upstream's ttrpc services (`api.SealedSecretService`,
 * `api.GetResourceService`, `api.SecureMountService`, `keyprovider.KeyProviderService`).
 * Failures answer INTERNAL `[CDH] [ERROR]: <code>: <detail>`; `WrapKey` and the image pull
 * service (owned by the image client) are not registered here, so they answer NOT_FOUND.
 */
import {
  CDH_SERVICES,
  CdhMessages,
  failingAs,
  KEYPROVIDER_SERVICE,
  KeyProviderMessages,
  type TtrpcServer,
} from "../../protocol/ttrpc/index.js";
import type { ConfidentialDataHub } from "./hub.js";

/** Upstream CDH's failure prefix; `what` and the coded cause follow. */
export const cdhFailure = failingAs("[CDH] [ERROR]: ");

/** Registers the CDH methods on `server`. */
export function registerCdhService(server: TtrpcServer, hub: ConfidentialDataHub): void {
  const M = CdhMessages;
  server.method(
    CDH_SERVICES.getResource,
    "GetResource",
    M.GetResourceRequest,
    M.GetResourceResponse,
    cdhFailure("Get Resource failed", async (req) => ({
      Resource: await hub.getResource(req.ResourcePath),
    })),
  );
  server.method(
    CDH_SERVICES.sealedSecret,
    "UnsealSecret",
    M.UnsealSecretInput,
    M.UnsealSecretOutput,
    cdhFailure("Unseal Secret failed", async (req) => ({
      plaintext: await hub.unsealSecret(req.secret),
    })),
  );
  server.method(
    CDH_SERVICES.secureMount,
    "SecureMount",
    M.SecureMountRequest,
    M.SecureMountResponse,
    cdhFailure("Secure Mount failed", async (req) => {
      await hub.secureMount({
        volumeType: req.volumeType,
        options: { ...req.options },
        flags: [...req.flags],
        mountPoint: req.mountPoint,
      });
      return {};
    }),
  );
  server.method(
    KEYPROVIDER_SERVICE,
    "UnWrapKey",
    KeyProviderMessages.Input,
    KeyProviderMessages.Output,
    cdhFailure("UnWrapKey failed", async (req) => ({
      KeyProviderKeyWrapProtocolOutput: await hub.unwrapKey(req.KeyProviderKeyWrapProtocolInput),
    })),
  );
}
