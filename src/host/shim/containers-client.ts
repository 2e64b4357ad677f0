/**
 * The one question the shim asks containerd over its gRPC API: the image reference of a
 * container (`containerd.services.containers.v1.Containers/Get`, in the shim's namespace). A
 * container `ctr run` made carries no CRI annotation naming its image, but its containerd record
 * does: it is the reference the user gave ctr, which the guest then pulls itself. gRPC through
 * `@grpc/grpc-js` (the project's one gRPC library), messages from the generated schemas; loaded
 * only for such containers, so CRI pods never pay for it.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type GetContainerRequest,
  GetContainerRequestSchema,
  type GetContainerResponse,
  GetContainerResponseSchema,
} from "../../protocol/proto/containerd/services/containers/v1/containers_pb.js";
import { HostError } from "../errors.js";

/** containerd reads the namespace of a call from this gRPC metadata key. */
const NAMESPACE_HEADER = "containerd-namespace";
const TIMEOUT_MS = 10_000;
/** A container record is small (labels, spec): more is refused. */
const MAX_MESSAGE = 4 << 20;

/** Asks containerd (gRPC socket `address`) for container `id`'s image reference in `namespace`. */
export async function containerImage(
  address: string,
  namespace: string,
  id: string,
): Promise<string> {
  // A CommonJS package: node's ESM loader gives its exports as named exports and as `default`,
  // a split esbuild bundle only as `default`.
  const ns = await import("@grpc/grpc-js");
  const grpc = (ns as unknown as { default?: typeof ns }).default ?? ns;
  const target = address.startsWith("unix://") ? address : `unix://${address}`;
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": MAX_MESSAGE,
  });
  try {
    const md = new grpc.Metadata();
    md.set(NAMESPACE_HEADER, namespace);
    const res = await new Promise<GetContainerResponse>((resolve, reject) => {
      client.makeUnaryRequest<GetContainerRequest, GetContainerResponse>(
        "/containerd.services.containers.v1.Containers/Get",
        (v) => Buffer.from(toBinary(GetContainerRequestSchema, v)),
        (b) => fromBinary(GetContainerResponseSchema, b),
        create(GetContainerRequestSchema, { id }),
        md,
        { deadline: Date.now() + TIMEOUT_MS },
        (err, v) => (err || !v ? reject(err ?? new Error("empty response")) : resolve(v)),
      );
    });
    const image = res.container?.image ?? "";
    if (image === "")
      throw new HostError(
        "ERR_SHIM_SPEC",
        `container ${id} names no image in containerd: the guest pulls the image itself and needs its reference (ctr run IMAGE ID, not --rootfs)`,
      );
    return image;
  } catch (err) {
    if (err instanceof HostError) throw err;
    throw new HostError(
      "ERR_SHIM_STATE",
      `cannot read container ${id} from containerd at ${address}: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    client.close();
  }
}
