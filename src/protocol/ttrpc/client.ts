/**
 * A unary ttrpc client over a unix socket. Stream ids are odd and increase by 2; calls are
 * multiplexed on one connection, which is (re)opened lazily on the next call after it closes.
 */
import { connect, type Socket } from "node:net";
import type {
  DescMessage,
  DescMethodUnary,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { socketPathOf } from "./address.js";
import { GrpcCode, TtrpcError } from "./errors.js";
import { encodeFrame, FrameDecoder, FrameType } from "./frame.js";
import { RequestCodec, ResponseCodec } from "./messages.js";
import { decodeMessage, encodeMessage, type MessageCodec } from "./proto.js";

/** Options for one call. */
export interface CallOptions {
  /** Deadline in milliseconds, sent as timeout_nano and enforced locally (default 50 s). */
  timeoutMs?: number;
  metadata?: ReadonlyArray<{ key: string; value: string }>;
}

interface Pending {
  resolve: (payload: Uint8Array) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** The ttrpc client. */
export class TtrpcClient {
  private readonly path: string;
  private readonly address: string;
  private sock: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private nextStreamId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly defaultTimeoutMs: number;

  constructor(address: string, opts: { timeoutMs?: number } = {}) {
    this.address = address;
    this.path = socketPathOf(address);
    this.defaultTimeoutMs = opts.timeoutMs ?? 50_000;
  }

  /**
   * Calls `/<service>/<method>` with a raw protobuf payload; resolves to the raw answer. On an
   * open connection the request is written at once and the answer settles the very promise
   * returned (no async layers around it: each would cost a turn of the microtask queue on
   * every call).
   */
  callRaw(
    service: string,
    method: string,
    payload: Uint8Array,
    opts: CallOptions = {},
  ): Promise<Uint8Array> {
    const sock = this.sock;
    if (sock !== undefined && !sock.destroyed)
      return this.send(sock, service, method, payload, opts);
    return this.connection().then((s) => this.send(s, service, method, payload, opts));
  }

  /** Writes one request on `sock`; the promise settles with its answer (never throws). */
  private send(
    sock: Socket,
    service: string,
    method: string,
    payload: Uint8Array,
    opts: CallOptions,
  ): Promise<Uint8Array> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const streamId = this.nextStreamId;
    this.nextStreamId += 2;
    if (this.nextStreamId > 0x7fffffff) this.nextStreamId = 1;
    let frame: Uint8Array;
    try {
      const body = RequestCodec.encode({
        service,
        method,
        payload,
        timeoutNano: BigInt(Math.round(timeoutMs)) * 1_000_000n,
        metadata: opts.metadata ? [...opts.metadata] : [],
      });
      frame = encodeFrame({ streamId, type: FrameType.REQUEST, flags: 0, payload: body });
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(streamId);
        reject(
          new TtrpcError(
            "ERR_TTRPC_TIMEOUT",
            `/${service}/${method} got no answer within ${timeoutMs} ms`,
            { grpcCode: GrpcCode.DEADLINE_EXCEEDED },
          ),
        );
      }, timeoutMs);
      this.pending.set(streamId, { resolve, reject, timer });
      sock.write(frame);
    });
  }

  /** Calls a typed unary method. */
  call<ReqInit, Res>(
    service: string,
    method: string,
    reqCodec: MessageCodec<unknown, ReqInit>,
    resCodec: MessageCodec<Res, unknown>,
    req: ReqInit,
    opts?: CallOptions,
  ): Promise<Res> {
    let payload: Uint8Array;
    try {
      payload = reqCodec.encode(req);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.callRaw(service, method, payload, opts).then((out) => resCodec.decode(out));
  }

  /** Calls one generated unary method (`FooService.method.bar`). */
  async unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    req: MessageInitShape<I>,
    opts?: CallOptions,
  ): Promise<MessageShape<O>> {
    const out = await this.callRaw(
      method.parent.typeName,
      method.name,
      encodeMessage(method.input, req),
      opts,
    );
    return decodeMessage(method.output, out);
  }

  /** Closes the connection; pending calls fail with ERR_TTRPC_CLOSED. */
  close(): void {
    this.sock?.destroy();
    this.sock = undefined;
  }

  private connection(): Promise<Socket> {
    if (this.sock && !this.sock.destroyed) return Promise.resolve(this.sock);
    if (this.connecting) return this.connecting;
    this.connecting = new Promise<Socket>((resolve, reject) => {
      const sock = connect(this.path);
      const decoder = new FrameDecoder();
      sock.once("connect", () => {
        this.sock = sock;
        this.connecting = undefined;
        resolve(sock);
      });
      sock.on("error", (err) => {
        if (this.connecting && this.sock !== sock) {
          this.connecting = undefined;
          reject(
            new TtrpcError(
              "ERR_TTRPC_CONNECT",
              `cannot connect to ${this.address}: ${err.message}`,
              {
                cause: err,
                grpcCode: GrpcCode.UNAVAILABLE,
              },
            ),
          );
        }
      });
      sock.on("close", () => {
        if (this.sock === sock) this.sock = undefined;
        this.failAll(new TtrpcError("ERR_TTRPC_CLOSED", `connection to ${this.address} closed`));
      });
      sock.on("data", (chunk: Buffer) => {
        try {
          for (const frame of decoder.push(chunk))
            this.onFrame(frame.streamId, frame.type, frame.payload);
        } catch (err) {
          this.failAll(err as Error);
          sock.destroy();
        }
      });
    });
    return this.connecting;
  }

  private onFrame(streamId: number, type: number, payload: Uint8Array): void {
    const p = this.pending.get(streamId);
    if (!p) return; // a late answer to a call that already timed out
    this.pending.delete(streamId);
    clearTimeout(p.timer);
    if (type !== FrameType.RESPONSE) {
      p.reject(new TtrpcError("ERR_TTRPC_BAD_FRAME", `unexpected ttrpc frame type ${type}`));
      return;
    }
    let res: ReturnType<typeof ResponseCodec.decode>;
    try {
      res = ResponseCodec.decode(payload);
    } catch (err) {
      p.reject(err as Error);
      return;
    }
    const code = res.status?.code ?? 0;
    if (code !== GrpcCode.OK) {
      p.reject(
        new TtrpcError("ERR_TTRPC_STATUS", res.status?.message || `ttrpc status ${code}`, {
          grpcCode: code,
        }),
      );
      return;
    }
    p.resolve(res.payload);
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }
}
