/**
 * The ocicrypt keyprovider gRPC service (`keyprovider.KeyProviderService`, keyprovider.proto)
 * as coco_keyprovider serves it to skopeo/ocicrypt: `WrapKey` answers with an AnnotationPacket,
 * `UnWrapKey` is UNIMPLEMENTED (decryption happens in the guest, through CDH). gRPC over
 * HTTP/2 is `@grpc/grpc-js`; the messages use our protobuf codecs.
 */
import type { handleUnaryCall } from "@grpc/grpc-js";
import { KEYPROVIDER_SERVICE, KeyProviderMessages } from "../../protocol/ttrpc/index.js";
import { OciError } from "../errors.js";
import type { KeyWrapper } from "./wrap.js";

/** A running keyprovider gRPC server. */
export interface KeyProviderServer {
  /** The bound `host:port`. */
  readonly address: string;
  close(): Promise<void>;
}

/** Starts the gRPC server on `socket` (`ip:port`, plaintext, as upstream). */
export async function startKeyProviderServer(o: {
  socket: string;
  wrap: KeyWrapper;
  log?: (line: string) => void;
}): Promise<KeyProviderServer> {
  const grpc = await import("@grpc/grpc-js");
  const codec = {
    requestSerialize: (v: { KeyProviderKeyWrapProtocolInput: Uint8Array }) =>
      Buffer.from(KeyProviderMessages.Input.encode(v)),
    requestDeserialize: (b: Buffer) => KeyProviderMessages.Input.decode(b),
    responseSerialize: (v: { KeyProviderKeyWrapProtocolOutput: Uint8Array }) =>
      Buffer.from(KeyProviderMessages.Output.encode(v)),
    responseDeserialize: (b: Buffer) => KeyProviderMessages.Output.decode(b),
  };
  const method = (name: string) => ({
    path: `/${KEYPROVIDER_SERVICE}/${name}`,
    requestStream: false,
    responseStream: false,
    ...codec,
  });
  type In = { KeyProviderKeyWrapProtocolInput: Uint8Array };
  type Out = { KeyProviderKeyWrapProtocolOutput: Uint8Array };
  const wrapKey: handleUnaryCall<In, Out> = (call, cb) => {
    o.wrap(call.request.KeyProviderKeyWrapProtocolInput).then(
      (out) => cb(null, { KeyProviderKeyWrapProtocolOutput: out }),
      (err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        o.log?.(`WrapKey failed: ${msg}`);
        const code =
          err instanceof OciError && err.code === "ERR_OCI_ENCRYPT"
            ? grpc.status.INVALID_ARGUMENT
            : grpc.status.INTERNAL;
        cb({ code, details: `encrypt failed: ${msg}` });
      },
    );
  };
  const unwrapKey: handleUnaryCall<In, Out> = (_call, cb) => {
    cb({
      code: grpc.status.UNIMPLEMENTED,
      details: "UnWrapKey API of sample-kbs is unimplemented!",
    });
  };
  const server = new grpc.Server({ "grpc.max_receive_message_length": 4 << 20 });
  server.addService(
    { WrapKey: method("WrapKey"), UnWrapKey: method("UnWrapKey") },
    { WrapKey: wrapKey, UnWrapKey: unwrapKey },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(o.socket, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err
        ? reject(new OciError("ERR_OCI_CONFIG", `cannot listen on ${o.socket}: ${err.message}`))
        : resolve(p),
    ),
  );
  const host = o.socket.slice(0, o.socket.lastIndexOf(":"));
  return {
    address: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
