/**
 * The image service's view of CDH: `GetResource` and keyprovider `UnWrapKey`, either over CDH's
 * ttrpc socket (image client in its own process, as upstream's ttrpc-cdh-tool) or through the
 * hub's own functions when it runs inside CDH.
 */

import { OciError } from "../../../oci/index.js";
import {
  CDH_SERVICES,
  CdhMessages,
  KEYPROVIDER_SERVICE,
  KeyProviderMessages,
  TtrpcClient,
} from "../../../protocol/ttrpc/index.js";

/** Builds the keyprovider `keyunwrap` request for one annotation packet. */
export function keyUnwrapRequest(annotationPacket: Uint8Array): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      op: "keyunwrap",
      keywrapparams: { ec: null, optsdata: null },
      keyunwrapparams: {
        dc: { Parameters: {} },
        annotation: Buffer.from(annotationPacket).toString("base64"),
      },
    }),
  );
}

/** Reads `keyunwrapresults.optsdata` (a byte-number array as Rust emits, or base64 as Go does). */
export function parseKeyUnwrapResponse(output: Uint8Array): Uint8Array {
  let j: { keyunwrapresults?: { optsdata?: unknown } };
  try {
    j = JSON.parse(Buffer.from(output).toString("utf8")) as typeof j;
  } catch {
    throw new OciError("ERR_OCI_DECRYPT_KEY", "keyprovider answer is not JSON");
  }
  const d = j?.keyunwrapresults?.optsdata;
  if (typeof d === "string") return Buffer.from(d, "base64");
  if (Array.isArray(d) && d.every((x) => Number.isInteger(x) && x >= 0 && x < 256))
    return Uint8Array.from(d as number[]);
  throw new OciError("ERR_OCI_DECRYPT_KEY", "keyprovider answer has no optsdata");
}

/** An unwrap function over any keyprovider `UnWrapKey` implementation (in-process hub or ttrpc). */
export function keyproviderUnwrap(
  call: (input: Uint8Array) => Promise<Uint8Array>,
): (packet: Uint8Array) => Promise<Uint8Array> {
  return async (packet) => parseKeyUnwrapResponse(await call(keyUnwrapRequest(packet)));
}

/** CDH reached over its ttrpc socket. */
export interface CdhImageDeps {
  getResource(uri: string): Promise<Uint8Array>;
  unwrapKey(packet: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

/** Connects to a running CDH (`unix:///run/confidential-containers/cdh.sock`). */
export function connectCdh(socket: string, timeoutMs = 60_000): CdhImageDeps {
  const client = new TtrpcClient(socket, { timeoutMs });
  return {
    async getResource(uri) {
      const r = await client.call(
        CDH_SERVICES.getResource,
        "GetResource",
        CdhMessages.GetResourceRequest,
        CdhMessages.GetResourceResponse,
        { ResourcePath: uri },
      );
      return r.Resource;
    },
    unwrapKey: keyproviderUnwrap(async (input) => {
      const r = await client.call(
        KEYPROVIDER_SERVICE,
        "UnWrapKey",
        KeyProviderMessages.Input,
        KeyProviderMessages.Output,
        { KeyProviderKeyWrapProtocolInput: input },
      );
      return r.KeyProviderKeyWrapProtocolOutput;
    }),
    close: () => client.close(),
  };
}
