/**
 * A unary ttrpc server over unix sockets, wire-compatible with ttrpc-rust's server: unknown
 * methods answer NOT_FOUND "/<service>/<Method> is not supported", handler failures answer
 * INTERNAL with the handler's message. A frame over 4 MiB, a garbled header, an even
 * (server-side) stream id or a streaming frame closes that connection; the server survives.
 */
import { chmodSync, mkdirSync, rmSync, statSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import type {
  DescMessage,
  DescMethodUnary,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { socketPathOf } from "./address.js";
import { GrpcCode, TtrpcError } from "./errors.js";
import { encodeFrame, FrameDecoder, FrameType } from "./frame.js";
import { RequestCodec, ResponseCodec, type RpcStatus, type TtrpcRequest } from "./messages.js";
import { type MessageCodec, messageCodec } from "./proto.js";

/** Per-call context given to handlers. */
export interface CallContext {
  service: string;
  method: string;
  metadata: ReadonlyArray<{ key: string; value: string }>;
  /** Client deadline in nanoseconds (0 = none). */
  timeoutNano: bigint;
}

/** A unary handler over raw protobuf payloads. */
export type RawHandler = (payload: Uint8Array, ctx: CallContext) => Promise<Uint8Array>;

/** An error a handler throws to choose the ttrpc status code and message. */
export class StatusError extends Error {
  readonly grpcCode: number;
  constructor(grpcCode: number, message: string) {
    super(message);
    this.grpcCode = grpcCode;
  }
}

/** Options for {@link TtrpcServer}. */
export interface TtrpcServerOptions {
  /** Called with connection-level failures (bad frames, socket errors). Never with secrets. */
  onConnectionError?: (err: Error) => void;
  /** Maps a handler failure to the status message sent back (default: the error message). */
  errorMessage?: (err: unknown, ctx: CallContext) => string;
  /** Largest accepted payload (default 4 MiB). */
  maxPayload?: number;
  /** Mode of the socket file (default 0600: the owner only). */
  socketMode?: number;
}

/** The ttrpc server. Register methods, then `listen`. */
export class TtrpcServer {
  private readonly handlers = new Map<string, RawHandler>();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly opts: TtrpcServerOptions;
  private path: string | undefined;

  constructor(opts: TtrpcServerOptions = {}) {
    this.opts = opts;
  }

  /** Registers a raw handler for `/<service>/<method>`. */
  register(service: string, method: string, handler: RawHandler): this {
    this.handlers.set(`/${service}/${method}`, handler);
    return this;
  }

  /** Registers a typed unary method. */
  method<Req, Res, ResInit>(
    service: string,
    method: string,
    reqCodec: MessageCodec<Req, unknown>,
    resCodec: MessageCodec<Res, ResInit>,
    fn: (req: Req, ctx: CallContext) => Promise<ResInit>,
  ): this {
    return this.register(service, method, async (payload, ctx) => {
      let req: Req;
      try {
        req = reqCodec.decode(payload);
      } catch (err) {
        throw new StatusError(GrpcCode.INVALID_ARGUMENT, (err as Error).message);
      }
      return resCodec.encode(await fn(req, ctx));
    });
  }

  /**
   * Registers a handler for one generated unary method (`FooService.method.bar`): the service
   * and method names, request and reply schemas all come from the `.proto`.
   */
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    fn: (req: MessageShape<I>, ctx: CallContext) => Promise<MessageInitShape<O>>,
  ): this {
    return this.method(
      method.parent.typeName,
      method.name,
      messageCodec(method.input),
      messageCodec(method.output),
      fn,
    );
  }

  /**
   * Listens on a `unix://` address; a stale socket file is removed, its folder created (0755,
   * never writable by others). The socket file gets `socketMode` (default 0600) whatever the
   * process umask: it is bound under a restrictive umask and chmodded after.
   */
  async listen(address: string): Promise<void> {
    const path = socketPathOf(address);
    const fileSocket = !path.startsWith("\0");
    if (fileSocket) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      try {
        if (statSync(path).isSocket()) rmSync(path);
      } catch {
        // no stale socket
      }
    }
    const server = createServer((sock) => this.serve(sock));
    this.server = server;
    const mode = this.opts.socketMode ?? 0o600;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      // bind(2) happens inside listen(): the socket never exists with the caller's umask.
      let old: number | undefined;
      try {
        old = process.umask(0o177);
      } catch {
        // worker threads cannot change the umask: the chmod below still applies
      }
      try {
        server.listen(path, () => {
          server.off("error", reject);
          resolve();
        });
      } finally {
        if (old !== undefined) process.umask(old);
      }
    });
    if (fileSocket) chmodSync(path, mode);
    this.path = path;
  }

  /** Stops accepting, closes live connections and removes the socket file. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.path && !this.path.startsWith("\0")) rmSync(this.path, { force: true });
  }

  private serve(sock: Socket): void {
    this.sockets.add(sock);
    const decoder = new FrameDecoder(this.opts.maxPayload);
    const fail = (err: Error) => {
      this.opts.onConnectionError?.(err);
      sock.destroy();
    };
    sock.on("close", () => this.sockets.delete(sock));
    sock.on("error", (err) => this.opts.onConnectionError?.(err));
    sock.on("data", (chunk: Buffer) => {
      let frames: ReturnType<FrameDecoder["push"]>;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        fail(err as Error);
        return;
      }
      for (const frame of frames) {
        if (frame.type !== FrameType.REQUEST) {
          fail(
            new TtrpcError(
              "ERR_TTRPC_BAD_FRAME",
              `unexpected ttrpc frame type ${frame.type}: only unary requests are served`,
            ),
          );
          return;
        }
        if (frame.streamId % 2 !== 1) {
          fail(
            new TtrpcError(
              "ERR_TTRPC_BAD_FRAME",
              `client stream id ${frame.streamId} is not odd (ttrpc protocol)`,
            ),
          );
          return;
        }
        let req: TtrpcRequest;
        try {
          req = RequestCodec.decode(frame.payload);
        } catch (err) {
          this.reply(sock, frame.streamId, {
            code: GrpcCode.INVALID_ARGUMENT,
            message: (err as Error).message,
          });
          fail(err as Error);
          return;
        }
        void this.dispatch(sock, frame.streamId, req);
      }
    });
  }

  private async dispatch(sock: Socket, streamId: number, req: TtrpcRequest): Promise<void> {
    const path = `/${req.service}/${req.method}`;
    const handler = this.handlers.get(path);
    if (!handler) {
      this.reply(sock, streamId, { code: GrpcCode.NOT_FOUND, message: `${path} is not supported` });
      return;
    }
    const ctx: CallContext = {
      service: req.service,
      method: req.method,
      metadata: req.metadata,
      timeoutNano: req.timeoutNano,
    };
    try {
      const out = await handler(req.payload, ctx);
      this.reply(sock, streamId, { code: GrpcCode.OK, message: "" }, out);
    } catch (err) {
      const code = err instanceof StatusError ? err.grpcCode : GrpcCode.INTERNAL;
      const message =
        err instanceof StatusError
          ? err.message
          : (this.opts.errorMessage?.(err, ctx) ?? (err as Error).message ?? String(err));
      this.reply(sock, streamId, { code, message });
    }
  }

  private reply(sock: Socket, streamId: number, status: RpcStatus, payload?: Uint8Array): void {
    if (sock.destroyed) return;
    let body = ResponseCodec.encode({
      status: status.code === GrpcCode.OK ? undefined : status,
      payload: payload ?? new Uint8Array(0),
    });
    let frame: Uint8Array;
    try {
      frame = encodeFrame({ streamId, type: FrameType.RESPONSE, flags: 0, payload: body });
    } catch (err) {
      body = ResponseCodec.encode({
        status: { code: GrpcCode.RESOURCE_EXHAUSTED, message: (err as Error).message },
      });
      frame = encodeFrame({ streamId, type: FrameType.RESPONSE, flags: 0, payload: body });
    }
    sock.write(frame);
  }
}
