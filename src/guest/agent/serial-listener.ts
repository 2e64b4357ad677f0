/**
 * The qemu guest's agent transport: a virtio-serial port (`/dev/virtio-ports/agent.0`) is one byte
 * stream to the host, where qemu exposes it as a unix socket. Each host connection is bridged to
 * a fresh connection to the agent's own ttrpc unix socket, so the unchanged ttrpc server serves it.
 *
 * virtio_console semantics this relies on (linux drivers/char/virtio_console.c): read() returns 0
 * while no host peer is connected and blocks while one is; qemu drops what the guest writes while
 * no peer is connected. A 0-byte read therefore ends the current host session.
 *
 * The program that runs it in the guest is serial-main.ts.
 */
import { type FileHandle, open } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { socketPathOf } from "../../protocol/ttrpc/index.js";

/** A byte port with virtio_console's semantics: `read` resolves 0 while no host peer is connected. */
export interface SerialPort {
  read(buf: Uint8Array): Promise<number>;
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Opens a virtio-serial port device (reads run on libuv's thread pool, where they may block). */
export async function openSerialDevice(path: string): Promise<SerialPort> {
  const fh: FileHandle = await open(path, "r+");
  return {
    read: async (buf) => (await fh.read(buf, 0, buf.length, null)).bytesRead,
    write: async (data) => {
      let off = 0;
      while (off < data.length) off += (await fh.write(data, off)).bytesWritten;
    },
    close: () => fh.close(),
  };
}

/** Options for {@link startSerialBridge}. */
export interface SerialBridgeOptions {
  /** The virtio-serial port device, or an open port. */
  device: string | SerialPort;
  /** The agent's ttrpc address (`unix:///…`). */
  agentAddress: string;
  /** How long bytes from the host wait for the agent to listen, ms (default 120 s). */
  agentWaitMs?: number;
  /** Poll interval while no host peer is connected, ms (default 10). */
  idlePollMs?: number;
  log?: (line: string) => void;
}

/** A running bridge. */
export interface SerialBridge {
  close(): Promise<void>;
  /** Resolves when the bridge stops (device error or close). */
  readonly done: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens the port and bridges host sessions to the agent socket until closed. */
export async function startSerialBridge(opts: SerialBridgeOptions): Promise<SerialBridge> {
  const log = opts.log ?? (() => {});
  const agentPath = socketPathOf(opts.agentAddress);
  const port = typeof opts.device === "string" ? await openSerialDevice(opts.device) : opts.device;
  let closed = false;
  let current: Promise<Socket> | undefined;
  let writes: Promise<unknown> = Promise.resolve();

  const dial = async (): Promise<Socket> => {
    const deadline = Date.now() + (opts.agentWaitMs ?? 120_000);
    for (;;) {
      try {
        return await new Promise<Socket>((resolve, reject) => {
          const s = connect(agentPath);
          s.once("connect", () => {
            s.off("error", reject);
            resolve(s);
          });
          s.once("error", reject);
        });
      } catch (err) {
        if (closed || Date.now() > deadline) throw err;
        await sleep(20);
      }
    }
  };

  const openSession = async (): Promise<Socket> => {
    const s = await dial();
    s.on("data", (chunk: Buffer) => {
      // Writes to the port are serialized; the agent socket pauses while they drain.
      s.pause();
      writes = writes
        .then(() => port.write(chunk))
        .catch((err: Error) => log(`serial write failed: ${err.message}`))
        .finally(() => s.resume());
    });
    s.on("error", (err) => log(`agent connection error: ${err.message}`));
    return s;
  };

  const endSession = async () => {
    const s = await current?.catch(() => undefined);
    current = undefined;
    s?.destroy();
  };

  const loop = async () => {
    const buf = Buffer.alloc(64 * 1024);
    while (!closed) {
      const bytesRead = await port.read(buf);
      if (bytesRead === 0) {
        // No host peer: end the current session so the next peer starts a clean ttrpc stream.
        if (current) {
          await endSession();
          log("host disconnected");
        }
        await sleep(opts.idlePollMs ?? 10);
        continue;
      }
      const data = Buffer.from(buf.subarray(0, bytesRead));
      if (!current) log("host connected");
      current ??= openSession();
      let s = await current;
      if (s.destroyed) {
        // The agent closed the previous session: this host peer continues on a new one.
        current = openSession();
        s = await current;
      }
      s.write(data);
    }
  };
  const done = loop()
    .catch((err: Error) => {
      if (!closed) log(`serial bridge stopped: ${err.message}`);
    })
    .finally(() => {
      void endSession();
      void port.close().catch(() => {});
    });
  return {
    done,
    async close() {
      closed = true;
      await endSession();
    },
  };
}
