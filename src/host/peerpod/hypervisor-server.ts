/**
 * Serves an adaptor as Kata's remote hypervisor service (`hypervisor.Hypervisor` over ttrpc on a
 * unix socket): what Kata's runtime with `hypervisor.remote` and coco's `remote` sandbox call.
 */

import { Hypervisor } from "../../protocol/peerpod/index.js";
import { GrpcCode, StatusError, TtrpcServer } from "../../protocol/ttrpc/index.js";
import { packageVersion } from "../../version.js";
import { HostError } from "../errors.js";
import type { Adaptor } from "./adaptor.js";

function status(err: unknown): never {
  if (err instanceof StatusError) throw err;
  const code = err instanceof HostError ? err.code : "";
  const grpc =
    code === "ERR_PEERPOD_REQUEST" ||
    code === "ERR_PEERPOD_INSTANCE_TYPE" ||
    code === "ERR_POD_INITDATA"
      ? GrpcCode.INVALID_ARGUMENT
      : code === "ERR_PEERPOD_START"
        ? GrpcCode.UNAVAILABLE
        : GrpcCode.INTERNAL;
  throw new StatusError(grpc, `${code ? `${code}: ` : ""}${(err as Error).message}`);
}

/** Listens on `socketPath` (0600) and serves `adaptor`; returns the server to close. */
export async function serveHypervisor(adaptor: Adaptor, socketPath: string): Promise<TtrpcServer> {
  const server = new TtrpcServer({ maxPayload: 4 << 20 });
  server
    .unary(Hypervisor.method.createVM, async (req) => {
      try {
        return await adaptor.createVM({
          id: req.id,
          annotations: { ...req.annotations },
          networkNamespacePath: req.networkNamespacePath,
        });
      } catch (err) {
        return status(err);
      }
    })
    .unary(Hypervisor.method.startVM, async (req) => {
      try {
        await adaptor.startVM(req.id);
        return {};
      } catch (err) {
        return status(err);
      }
    })
    .unary(Hypervisor.method.stopVM, async (req) => {
      try {
        await adaptor.stopVM(req.id);
        return {};
      } catch (err) {
        return status(err);
      }
    })
    .unary(Hypervisor.method.version, async () => ({ version: packageVersion() }));
  await server.listen(`unix://${socketPath}`);
  return server;
}
