import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { TtrpcClient, TtrpcServer } from "../../protocol/ttrpc/index.js";
import { startAgentMux } from "./qemu-mux.js";

const dir = mkdtempSync(join(tmpdir(), "coco-mux-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A real ttrpc server standing where qemu's socket is; the mux is its only client. */
async function setup() {
  n++;
  const upstream = join(dir, `up${n}.sock`);
  const listen = join(dir, `mux${n}.sock`);
  let connections = 0;
  const upstreamSockets: import("node:net").Socket[] = [];
  const server = new TtrpcServer();
  server.register("t.S", "Echo", async (p) => p);
  server.register("t.S", "Slow", async (p) => {
    await new Promise((r) => setTimeout(r, 150));
    return p;
  });
  await server.listen(`unix://${upstream}`);
  // Count upstream connections through the server's own socket events.
  const inner = (server as unknown as { server: import("node:net").Server }).server;
  inner.on("connection", (sock) => {
    connections++;
    upstreamSockets.push(sock);
  });
  const mux = await startAgentMux(listen, upstream);
  return { server, mux, listen, connections: () => connections, upstreamSockets };
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("qemu agent multiplexer", () => {
  test("clients share one upstream connection and each gets its own answers", async () => {
    const { server, mux, listen, connections } = await setup();
    const a = new TtrpcClient(`unix://${listen}`);
    const b = new TtrpcClient(`unix://${listen}`);
    try {
      const order: string[] = [];
      const slow = a.callRaw("t.S", "Slow", bytes("from-a")).then((r) => {
        order.push("a");
        return text(r);
      });
      const fast = b.callRaw("t.S", "Echo", bytes("from-b")).then((r) => {
        order.push("b");
        return text(r);
      });
      const many = Promise.all(
        Array.from({ length: 20 }, (_, i) => a.callRaw("t.S", "Echo", bytes(`a${i}`))),
      );
      assert.deepEqual(await Promise.all([slow, fast]), ["from-a", "from-b"]);
      assert.deepEqual(
        (await many).map(text),
        Array.from({ length: 20 }, (_, i) => `a${i}`),
      );
      assert.deepEqual(order, ["b", "a"]);
      assert.equal(connections(), 1);
    } finally {
      a.close();
      b.close();
      mux.close();
      await mux.done;
      await server.close();
    }
  });

  test("a client that leaves mid-call does not disturb the others", async () => {
    const { server, mux, listen } = await setup();
    const a = new TtrpcClient(`unix://${listen}`);
    const b = new TtrpcClient(`unix://${listen}`);
    try {
      const pending = a.callRaw("t.S", "Slow", bytes("lost")).catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 20));
      a.close();
      assert.ok((await pending) instanceof Error);
      await new Promise((r) => setTimeout(r, 200)); // the late answer arrives and is dropped
      assert.equal(text(await b.callRaw("t.S", "Echo", bytes("still-here"))), "still-here");
    } finally {
      b.close();
      mux.close();
      await mux.done;
      await server.close();
    }
  });

  test("garbage from one client closes only that client", async () => {
    const { server, mux, listen } = await setup();
    const b = new TtrpcClient(`unix://${listen}`);
    try {
      const closed = await new Promise<boolean>((resolve) => {
        const s = connect(listen, () => {
          // A header announcing a 64 MiB payload: over the frame limit.
          s.write(Buffer.from([0x04, 0, 0, 0, 0, 0, 0, 1, 1, 0]));
        });
        s.on("close", () => resolve(true));
        s.on("error", () => {});
      });
      assert.ok(closed);
      assert.equal(text(await b.callRaw("t.S", "Echo", bytes("ok"))), "ok");
    } finally {
      b.close();
      mux.close();
      await mux.done;
      await server.close();
    }
  });

  test("a connection qemu drops while the VM lives is re-established", async () => {
    const { server, mux, listen, upstreamSockets } = await setup();
    const a = new TtrpcClient(`unix://${listen}`);
    try {
      assert.equal(text(await a.callRaw("t.S", "Echo", bytes("before"))), "before");
      const inFlight = a.callRaw("t.S", "Slow", bytes("lost")).catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 20));
      upstreamSockets[0]?.destroy();
      assert.ok((await inFlight) instanceof Error, "a call in flight on the old session fails");
      const b = new TtrpcClient(`unix://${listen}`);
      assert.equal(text(await b.callRaw("t.S", "Echo", bytes("after"))), "after");
      b.close();
      assert.equal(upstreamSockets.length, 2);
    } finally {
      a.close();
      mux.close();
      await mux.done;
      await server.close();
    }
  });

  test("when the VM's end closes, the mux closes its clients and stops", async () => {
    const { server, mux, listen } = await setup();
    const a = new TtrpcClient(`unix://${listen}`);
    assert.equal(text(await a.callRaw("t.S", "Echo", bytes("x"))), "x");
    const pending = a.callRaw("t.S", "Slow", bytes("y")).catch((e: Error) => e);
    await server.close(); // destroys the mux's upstream connection, as qemu exiting does
    await mux.done;
    assert.ok((await pending) instanceof Error);
    a.close();
  });
});
