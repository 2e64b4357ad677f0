/**
 * coco-snapshotter's gRPC edge: containerd's `containerd.services.snapshots.v1.Snapshots` service
 * on a unix socket, over `@grpc/grpc-js` (the project's one gRPC library, also behind
 * coco_keyprovider), with the messages encoded by the generated `@bufbuild/protobuf` schemas
 * (src/protocol/proto/containerd/services/snapshots/v1). Only this file maps SnapshotterError
 * codes to gRPC status codes.
 */
import { chmodSync, existsSync, rmSync } from "node:fs";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type * as grpcTypes from "@grpc/grpc-js";
import { hasCode } from "../../errors.js";
import {
  type Info,
  InfoSchema,
  Kind,
  Snapshots,
} from "../../protocol/proto/containerd/services/snapshots/v1/snapshots_pb.js";
import { MountSchema } from "../../protocol/proto/containerd/types/mount_pb.js";
import { SnapshotterError, type SnapshotterErrorCode } from "./errors.js";
import type { MountSpec, Snapshotter } from "./service.js";
import type { SnapshotRecord } from "./store.js";

/** The largest request we read (containerd's messages are small: keys and labels). */
const MAX_MESSAGE = 4 << 20;

const STATUS: Record<SnapshotterErrorCode, keyof typeof grpcTypes.status> = {
  ERR_SNAPSHOT_NOT_FOUND: "NOT_FOUND",
  ERR_SNAPSHOT_EXISTS: "ALREADY_EXISTS",
  ERR_SNAPSHOT_PRECONDITION: "FAILED_PRECONDITION",
  ERR_SNAPSHOT_INVALID: "INVALID_ARGUMENT",
  ERR_SNAPSHOT_STATE: "INTERNAL",
};

const KIND: Record<SnapshotRecord["kind"], Kind> = {
  view: Kind.VIEW,
  active: Kind.ACTIVE,
  committed: Kind.COMMITTED,
};

function toInfo(r: SnapshotRecord): Info {
  return create(InfoSchema, {
    name: r.key,
    parent: r.parent,
    kind: KIND[r.kind],
    createdAt: timestampFromMs(r.created),
    updatedAt: timestampFromMs(r.updated),
    labels: r.labels,
  });
}

const mounts = (m: MountSpec[]) => m.map((x) => create(MountSchema, x));

/** A running snapshotter server. */
export interface SnapshotterServer {
  socket: string;
  close(): Promise<void>;
}

/** Serves `s` on the unix socket `socket` (replacing a stale socket file). */
export async function startSnapshotterServer(
  s: Snapshotter,
  socket: string,
  log: (line: string) => void = () => {},
): Promise<SnapshotterServer> {
  const grpc = await import("@grpc/grpc-js");
  const definition: Record<string, grpcTypes.MethodDefinition<object, object>> = {};
  const handlers: grpcTypes.UntypedServiceImplementation = {};
  type Method = (typeof Snapshots.methods)[number];
  const codec = (m: Method) => ({
    requestSerialize: (v: MessageShape<DescMessage>) => Buffer.from(toBinary(m.input, v)),
    requestDeserialize: (b: Buffer) => fromBinary(m.input, b),
    responseSerialize: (v: MessageShape<DescMessage>) => Buffer.from(toBinary(m.output, v)),
    responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
  });
  const fail = (err: unknown, name: string): grpcTypes.ServiceError => {
    const code =
      err instanceof SnapshotterError ? grpc.status[STATUS[err.code]] : grpc.status.INTERNAL;
    const details = err instanceof Error ? err.message : String(err);
    if (!hasCode(err, "ERR_SNAPSHOT_EXISTS") && !hasCode(err, "ERR_SNAPSHOT_NOT_FOUND"))
      log(`${name}: ${details}`);
    return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
  };
  // Each unary call: request message in, plain object out (encoded with the output schema).
  const unary: Record<string, (req: never) => object> = {
    Prepare: (r: { key: string; parent: string; labels: Record<string, string> }) => ({
      mounts: mounts(s.prepare(r.key, r.parent, r.labels)),
    }),
    View: (r: { key: string; parent: string; labels: Record<string, string> }) => ({
      mounts: mounts(s.view(r.key, r.parent, r.labels)),
    }),
    Mounts: (r: { key: string }) => ({ mounts: mounts(s.mounts(r.key)) }),
    Commit: (r: { name: string; key: string; labels: Record<string, string> }) => {
      s.commit(r.name, r.key, r.labels);
      return {};
    },
    Remove: (r: { key: string }) => {
      s.remove(r.key);
      return {};
    },
    Stat: (r: { key: string }) => ({ info: toInfo(s.stat(r.key)) }),
    Update: (r: { info?: Info; updateMask?: { paths: string[] } }) => {
      if (r.info === undefined)
        throw new SnapshotterError("ERR_SNAPSHOT_INVALID", "Update without info");
      return {
        info: toInfo(
          s.update({ key: r.info.name, labels: r.info.labels }, r.updateMask?.paths ?? []),
        ),
      };
    },
    Usage: (r: { key: string }) => {
      const u = s.usage(r.key);
      return { size: BigInt(u.size), inodes: BigInt(u.inodes) };
    },
    // Nothing is stored on the node, so there is nothing to clean up.
    Cleanup: () => ({}),
  };
  for (const m of Snapshots.methods) {
    definition[m.name] = {
      path: `/${Snapshots.typeName}/${m.name}`,
      requestStream: false,
      responseStream: m.methodKind === "server_streaming",
      ...codec(m),
    } as grpcTypes.MethodDefinition<object, object>;
    if (m.methodKind === "server_streaming") {
      handlers[m.name] = (call: grpcTypes.ServerWritableStream<{ filters: string[] }, object>) => {
        try {
          const all = s.list(call.request.filters);
          // containerd's own snapshotter service sends Info in batches of 100.
          for (let i = 0; i < all.length; i += 100)
            call.write(create(m.output, { info: all.slice(i, i + 100).map(toInfo) } as never));
          call.end();
        } catch (err) {
          call.destroy(fail(err, m.name));
        }
      };
      continue;
    }
    const h = unary[m.name];
    if (h === undefined) throw new Error(`no handler for Snapshots.${m.name}`);
    const handle: grpcTypes.handleUnaryCall<never, object> = (call, cb) => {
      try {
        cb(null, create(m.output, h(call.request) as never));
      } catch (err) {
        cb(fail(err, m.name));
      }
    };
    handlers[m.name] = handle as grpcTypes.UntypedHandleCall;
  }
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE,
    "grpc.max_send_message_length": 64 << 20,
  });
  server.addService(definition, handlers);
  if (existsSync(socket)) rmSync(socket, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err
        ? reject(
            new SnapshotterError(
              "ERR_SNAPSHOT_STATE",
              `cannot listen on ${socket}: ${err.message}`,
            ),
          )
        : resolve(),
    ),
  );
  // Only root (containerd) may talk to it.
  chmodSync(socket, 0o600);
  return {
    socket,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          rmSync(socket, { force: true });
          resolve();
        });
      }),
  };
}
