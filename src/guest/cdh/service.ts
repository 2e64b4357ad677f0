/**
 * Puts the hub behind upstream's ttrpc services (`api.SealedSecretService`,
 * `api.GetResourceService`, `api.SecureMountService`, `keyprovider.KeyProviderService`).
 * Failures answer INTERNAL `[CDH] [ERROR]: <code>: <detail>`; `WrapKey` and the image pull
 * service (owned by the image client) are not registered here, so they answer NOT_FOUND.
 */
import {
  CDH_SERVICES,
  CdhMessages,
  KEYPROVIDER_SERVICE,
  KeyProviderMessages,
  type TtrpcServer,
} from "../../protocol/ttrpc/index.js";
import type { ConfidentialDataHub } from "./hub.js";

function failure(what: string, err: unknown): Error {
  const code = (err as { code?: unknown }).code;
  const detail = err instanceof Error ? err.message : String(err);
  return new Error(
    `[CDH] [ERROR]: ${what}: ${typeof code === "string" ? `${code}: ` : ""}${detail}`,
  );
}

/** Registers the CDH methods on `server`. */
export function registerCdhService(server: TtrpcServer, hub: ConfidentialDataHub): void {
  const M = CdhMessages;
  server.method(
    CDH_SERVICES.getResource,
    "GetResource",
    M.GetResourceRequest,
    M.GetResourceResponse,
    async (req) => {
      try {
        return { Resource: await hub.getResource(req.ResourcePath) };
      } catch (err) {
        throw failure("Get Resource failed", err);
      }
    },
  );
  server.method(
    CDH_SERVICES.sealedSecret,
    "UnsealSecret",
    M.UnsealSecretInput,
    M.UnsealSecretOutput,
    async (req) => {
      try {
        return { plaintext: await hub.unsealSecret(req.secret) };
      } catch (err) {
        throw failure("Unseal Secret failed", err);
      }
    },
  );
  server.method(
    CDH_SERVICES.secureMount,
    "SecureMount",
    M.SecureMountRequest,
    M.SecureMountResponse,
    async (req) => {
      try {
        await hub.secureMount({
          volumeType: req.volumeType,
          options: { ...req.options },
          flags: [...req.flags],
          mountPoint: req.mountPoint,
        });
        return {};
      } catch (err) {
        throw failure("Secure Mount failed", err);
      }
    },
  );
  server.method(
    KEYPROVIDER_SERVICE,
    "UnWrapKey",
    KeyProviderMessages.Input,
    KeyProviderMessages.Output,
    async (req) => {
      try {
        return {
          KeyProviderKeyWrapProtocolOutput: await hub.unwrapKey(
            req.KeyProviderKeyWrapProtocolInput,
          ),
        };
      } catch (err) {
        throw failure("UnWrapKey failed", err);
      }
    },
  );
}
