/**
 * Hostile clients against a live ttrpc server on a unix socket: mutated request streams
 * (garbage, inflated lengths, wrong frame types, bad protobuf) sent in random chunks. Property:
 * the process never sees an uncaught exception, every hostile connection ends (answered or
 * closed) within the hang bound, and a well-formed call still succeeds afterwards.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { mutate, Rng } from "../../../test/helpers/fuzz.js";
import { AA_SERVICE, AaMessages } from "./api/attestation-agent.js";
import { TtrpcClient } from "./client.js";
import { encodeFrame } from "./frame.js";
import { RequestCodec } from "./messages.js";
import { TtrpcServer } from "./server.js";

const dir = mkdtempSync(join(tmpdir(), "ttrpc-fuzz-"));
const sockPath = join(dir, "s.sock");
const server = new TtrpcServer({ maxPayload: 64 * 1024 });

/** Writes `bytes` in random chunks, then half-closes; resolves when the server is done with it. */
function hostile(bytes: Uint8Array, rng: Rng): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = connect(sockPath);
    sock.on("error", () => undefined);
    sock.on("data", () => undefined);
    // A well-formed request is answered but the connection stays open: bound the wait.
    const timer = setTimeout(() => sock.destroy(), 300);
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(performance.now() - t0);
    });
    sock.on("connect", () => {
      let i = 0;
      while (i < bytes.length) {
        const n = 1 + rng.int(200);
        sock.write(bytes.subarray(i, i + n));
        i += n;
      }
      sock.end();
    });
  });
}

describe("ttrpc server under hostile clients", () => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  before(async () => {
    process.on("uncaughtException", onUncaught);
    server.method(
      AA_SERVICE,
      "GetToken",
      AaMessages.GetTokenRequest,
      AaMessages.GetTokenResponse,
      async (req) => {
        if (req.TokenType === "boom") throw new Error("handler failure");
        return { Token: new TextEncoder().encode(req.TokenType) };
      },
    );
    await server.listen(`unix://${sockPath}`);
  });
  after(async () => {
    process.off("uncaughtException", onUncaught);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("1000 mutated request streams leave the server serving", async () => {
    const good = (id: number, tokenType: string) =>
      encodeFrame({
        streamId: id,
        type: 1,
        flags: 0,
        payload: RequestCodec.encode({
          service: AA_SERVICE,
          method: "GetToken",
          payload: AaMessages.GetTokenRequest.encode({ TokenType: tokenType }),
        }),
      });
    const seed = Buffer.concat([good(1, "kbs"), good(3, "boom"), good(5, "x")]);
    const rng = new Rng(0x5e7);
    for (let i = 0; i < 1000; i++) {
      const bytes = rng.chance(0.1)
        ? rng.bytes(rng.int(64))
        : mutate(rng, seed, { lengthOffsets: [0, 4], boundaries: [0, 10] });
      const ms = await hostile(bytes, new Rng(rng.u32()));
      assert.ok(ms < 1000, `connection ${i} took ${ms.toFixed(0)} ms`);
    }
    assert.deepEqual(uncaught, []);
    const client = new TtrpcClient(`unix://${sockPath}`, { timeoutMs: 2000 });
    try {
      const res = await client.call(
        AA_SERVICE,
        "GetToken",
        AaMessages.GetTokenRequest,
        AaMessages.GetTokenResponse,
        { TokenType: "ok" },
      );
      assert.equal(new TextDecoder().decode(res.Token), "ok");
    } finally {
      client.close();
    }
  });
});
