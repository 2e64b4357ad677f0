#!/usr/bin/env node
/**
 * A ttrpc stream multiplexer for the qemu sandbox's agent port. qemu's socket chardev serves one
 * peer at a time, and the guest sees a virtio-serial port as a single byte stream. The mux holds
 * the one connection to qemu for the VM's lifetime and lets any number of host clients share it:
 * each client's stream ids are renumbered to unique odd ids upstream and mapped back on the way
 * down (the role yamux played for Kata 1.x over virtio-serial). It only routes frames; it never
 * decodes payloads. It exits when qemu's end closes (the VM is gone).
 *
 *   node qemu-mux.js <listen-socket> <qemu-socket>
 */
import { rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { encodeFrame, FrameDecoder, FrameType } from "../../protocol/ttrpc/index.js";

/** A running multiplexer. */
export interface AgentMux {
  readonly server: Server;
  /** Resolves when the upstream (qemu) connection has closed and every client was closed. */
  readonly done: Promise<void>;
  close(): void;
}

/** Connects to `upstream` and serves `listen`, multiplexing clients' ttrpc streams. */
export async function startAgentMux(
  listen: string,
  upstream: string,
  log: (line: string) => void = () => {},
): Promise<AgentMux> {
  const dial = () =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect(upstream);
      s.once("connect", () => {
        s.off("error", reject);
        resolve(s);
      });
      s.once("error", reject);
    });
  // Upstream stream id → the client and the id it used.
  const routes = new Map<number, { client: Socket; id: number }>();
  let next = 1;
  const allocate = (): number => {
    // Odd ids only (client-initiated, ttrpc); skip ids still in flight after a wrap.
    do {
      next = next >= 0x7fff_fffd ? 1 : next + 2;
    } while (routes.has(next));
    return next;
  };
  const clients = new Set<Socket>();
  let up: Socket = await dial();
  let closing = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const shutdown = () => {
    for (const c of clients) c.destroy();
    server.close(() => finish());
    rmSync(listen, { force: true });
  };
  const attach = (sock: Socket) => {
    const decoder = new FrameDecoder();
    sock.on("data", (chunk: Buffer) => {
      let frames: ReturnType<FrameDecoder["push"]>;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        log(`agent stream garbled: ${(err as Error).message}`);
        sock.destroy();
        return;
      }
      for (const f of frames) {
        const route = routes.get(f.streamId);
        if (!route) continue; // the client left; its late answer is dropped
        if (f.type === FrameType.RESPONSE) routes.delete(f.streamId);
        if (!route.client.destroyed) route.client.write(encodeFrame({ ...f, streamId: route.id }));
      }
    });
    sock.on("error", (err) => log(`agent connection: ${err.message}`));
    sock.on("close", () => {
      // Calls in flight on the old session cannot be answered: their clients are closed.
      for (const r of routes.values()) r.client.destroy();
      routes.clear();
      if (closing) return shutdown();
      // qemu may drop its peer while the VM lives; reconnecting starts a fresh guest session.
      // When qemu is gone the socket refuses, and the mux ends.
      dial().then(
        (again) => {
          log("the VM's end of the agent port closed; reconnected");
          up = again;
          attach(again);
        },
        () => {
          log("the VM's end of the agent port closed");
          shutdown();
        },
      );
    });
  };
  attach(up);

  const server = createServer((client) => {
    clients.add(client);
    const decoder = new FrameDecoder();
    const mine = new Set<number>();
    client.on("data", (chunk: Buffer) => {
      let frames: ReturnType<FrameDecoder["push"]>;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        log(`client stream garbled: ${(err as Error).message}`);
        client.destroy();
        return;
      }
      for (const f of frames) {
        const id = allocate();
        routes.set(id, { client, id: f.streamId });
        mine.add(id);
        up.write(encodeFrame({ ...f, streamId: id }));
      }
    });
    client.on("error", () => {});
    client.on("close", () => {
      clients.delete(client);
      for (const id of mine) if (routes.get(id)?.client === client) routes.delete(id);
    });
  });
  rmSync(listen, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    server,
    done,
    close() {
      closing = true;
      up.destroy();
    },
  };
}

async function main(): Promise<void> {
  const [listen, upstream] = process.argv.slice(2);
  if (!listen || !upstream) throw new Error("usage: qemu-mux.js <listen-socket> <qemu-socket>");
  const log = (line: string) => process.stderr.write(`coco-mux: ${line}\n`);
  const mux = await startAgentMux(listen, upstream, log);
  process.stdout.write("ready\n");
  process.on("SIGTERM", () => mux.close());
  await mux.done;
}

if (process.argv[1]?.endsWith("qemu-mux.js")) {
  main().catch((err: Error) => {
    process.stderr.write(`coco-mux: fatal: ${err.message}\n`);
    process.exit(1);
  });
}
