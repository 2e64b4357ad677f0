import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  encodeFrame,
  FrameDecoder,
  FrameType,
  RequestCodec,
  ResponseCodec,
  TtrpcServer,
} from "../../protocol/ttrpc/index.js";
import { type SerialPort, startSerialBridge } from "./serial-listener.js";

const dir = mkdtempSync(join(tmpdir(), "coco-serial-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The guest end of a virtio-serial port as virtio_console presents it: read() answers 0 while no
 * host peer is connected, blocks while one is; writes while unconnected are dropped (as qemu
 * does). The test plays the host peer. The real device is exercised by the VM tests.
 */
class PortUnderTest implements SerialPort {
  private inbound: Uint8Array[] = [];
  private waiter: (() => void) | undefined;
  connected = false;
  readonly received = new FrameDecoder();
  readonly answers: { streamId: number; payload: Uint8Array }[] = [];
  connect() {
    this.connected = true;
  }
  disconnect() {
    this.connected = false;
    this.waiter?.();
  }
  send(bytes: Uint8Array) {
    this.inbound.push(bytes);
    this.waiter?.();
  }
  async read(buf: Uint8Array): Promise<number> {
    for (;;) {
      const next = this.inbound.shift();
      if (next) {
        buf.set(next.subarray(0, buf.length));
        return Math.min(next.length, buf.length);
      }
      if (!this.connected) return 0;
      await new Promise<void>((r) => {
        this.waiter = r;
      });
    }
  }
  async write(data: Uint8Array): Promise<void> {
    if (!this.connected) return;
    for (const f of this.received.push(data)) {
      this.answers.push({ streamId: f.streamId, payload: ResponseCodec.decode(f.payload).payload });
    }
  }
  async close(): Promise<void> {
    this.disconnect();
  }
}

const request = (streamId: number, method: string, payload: string) =>
  encodeFrame({
    streamId,
    type: FrameType.REQUEST,
    flags: 0,
    payload: RequestCodec.encode({
      service: "t.S",
      method,
      payload: new TextEncoder().encode(payload),
      timeoutNano: 0n,
      metadata: [],
    }),
  });

async function until(cond: () => boolean, what: string) {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("serial bridge (guest end of the qemu agent port)", () => {
  test("bridges each host session to a fresh agent connection", async () => {
    const sock = join(dir, "a.sock");
    const server = new TtrpcServer();
    let connections = 0;
    server.register("t.S", "Echo", async (p) => p);
    await server.listen(`unix://${sock}`);
    (server as unknown as { server: import("node:net").Server }).server.on(
      "connection",
      () => connections++,
    );
    const port = new PortUnderTest();
    const bridge = await startSerialBridge({
      device: port,
      agentAddress: `unix://${sock}`,
      idlePollMs: 2,
    });
    try {
      port.connect();
      port.send(request(1, "Echo", "one"));
      await until(() => port.answers.length === 1, "the first answer");
      assert.equal(new TextDecoder().decode(port.answers[0]?.payload), "one");
      // The host peer leaves half-way through a frame: the next peer must not inherit it.
      port.send(request(3, "Echo", "torn").subarray(0, 7));
      await new Promise((r) => setTimeout(r, 20));
      port.disconnect();
      await until(() => connections === 1, "first session");
      await new Promise((r) => setTimeout(r, 30));
      port.connect();
      port.send(request(1, "Echo", "two"));
      await until(() => port.answers.length === 2, "the answer in the new session");
      assert.equal(new TextDecoder().decode(port.answers[1]?.payload), "two");
      assert.equal(port.answers[1]?.streamId, 1);
      assert.equal(connections, 2);
    } finally {
      await bridge.close();
      await server.close();
    }
  });

  test("holds the host's first bytes until the agent listens", async () => {
    const sock = join(dir, "b.sock");
    const port = new PortUnderTest();
    const bridge = await startSerialBridge({
      device: port,
      agentAddress: `unix://${sock}`,
      idlePollMs: 2,
    });
    const server = new TtrpcServer();
    server.register("t.S", "Echo", async (p) => p);
    try {
      port.connect();
      port.send(request(1, "Echo", "early"));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(port.answers.length, 0);
      await server.listen(`unix://${sock}`);
      await until(() => port.answers.length === 1, "the answer once the agent listens");
      assert.equal(new TextDecoder().decode(port.answers[0]?.payload), "early");
    } finally {
      await bridge.close();
      await server.close();
    }
  });
});
