import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AttestationAgentService } from "../proto/guest-components/attestation-agent_pb.js";
import { AA_SERVICE, AaMessages } from "./api/attestation-agent.js";
import { TtrpcClient } from "./client.js";
import { encodeFrame, FrameDecoder, MAX_PAYLOAD } from "./frame.js";
import { RequestCodec, ResponseCodec } from "./messages.js";
import { TtrpcServer } from "./server.js";

const dir = mkdtempSync(join(tmpdir(), "ttrpc-"));
const address = `unix://${join(dir, "aa.sock")}`;
const server = new TtrpcServer();
const streamIds: number[] = [];
let hang: (() => void) | undefined;

/** Sends raw bytes and collects what comes back until the server closes the connection. */
function rawExchange(
  bytes: Uint8Array,
): Promise<{ closed: boolean; frames: ReturnType<FrameDecoder["push"]> }> {
  return new Promise((resolve) => {
    const sock = connect(join(dir, "aa.sock"));
    const dec = new FrameDecoder();
    const frames: ReturnType<FrameDecoder["push"]> = [];
    sock.on("data", (c) => frames.push(...dec.push(c)));
    sock.on("error", () => undefined);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ closed: false, frames });
    }, 2000);
    sock.on("close", () => {
      clearTimeout(timer);
      resolve({ closed: true, frames });
    });
    sock.write(bytes);
  });
}

before(async () => {
  server.method(
    AA_SERVICE,
    "GetTeeType",
    AaMessages.GetTeeTypeRequest,
    AaMessages.GetTeeTypeResponse,
    async () => ({
      tee: "sample",
    }),
  );
  server.method(
    AA_SERVICE,
    "GetEvidence",
    AaMessages.GetEvidenceRequest,
    AaMessages.GetEvidenceResponse,
    async (req, ctx) => {
      streamIds.push(Number(ctx.timeoutNano > 0n));
      await new Promise((r) => setTimeout(r, req.RuntimeData[0] ?? 0));
      return { Evidence: req.RuntimeData };
    },
  );
  server.method(
    AA_SERVICE,
    "GetToken",
    AaMessages.GetTokenRequest,
    AaMessages.GetTokenResponse,
    async (req) => {
      if (req.TokenType === "hang") await new Promise<void>((r) => (hang = r));
      throw new Error("[ERROR:attestation-agent] AA-KBC get token failed");
    },
  );
  server.unary(AttestationAgentService.method.getAdditionalTees, async () => ({
    additionalTees: ["tpm", "nvidia"],
  }));
  await server.listen(address);
});

after(async () => {
  hang?.();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ttrpc server and client over a unix socket", () => {
  test("a typed unary call round-trips", async () => {
    const c = new TtrpcClient(address);
    const res = await c.call(
      AA_SERVICE,
      "GetTeeType",
      AaMessages.GetTeeTypeRequest,
      AaMessages.GetTeeTypeResponse,
      {},
    );
    assert.equal(res.tee, "sample");
    c.close();
  });

  test("a generated unary method serves and calls by its descriptor", async () => {
    const c = new TtrpcClient(address);
    const res = await c.unary(AttestationAgentService.method.getAdditionalTees, {});
    assert.deepEqual(res.additionalTees, ["tpm", "nvidia"]);
    // the same call by name and codecs reaches the same handler
    const raw = await c.callRaw(AA_SERVICE, "GetAdditionalTees", new Uint8Array(0));
    assert.equal(
      Buffer.from(raw).toString("hex"),
      `0a03${Buffer.from("tpm").toString("hex")}0a06${Buffer.from("nvidia").toString("hex")}`,
    );
    c.close();
  });

  test("concurrent calls on one connection are matched to their answers", async () => {
    const c = new TtrpcClient(address);
    const delays = [30, 1, 15, 5, 0];
    const out = await Promise.all(
      delays.map((d) =>
        c.call(
          AA_SERVICE,
          "GetEvidence",
          AaMessages.GetEvidenceRequest,
          AaMessages.GetEvidenceResponse,
          {
            RuntimeData: new Uint8Array([d]),
          },
        ),
      ),
    );
    assert.deepEqual(
      out.map((r) => r.Evidence[0]),
      delays,
    );
    assert.ok(
      streamIds.every((x) => x === 1),
      "every request carried timeout_nano",
    );
    c.close();
  });

  test("an unknown method answers NOT_FOUND with upstream's message", async () => {
    const c = new TtrpcClient(address);
    await assert.rejects(
      c.callRaw(AA_SERVICE, "BindInitData", new Uint8Array(0)),
      (err: Error & { code: string; grpcCode: number }) => {
        assert.equal(err.code, "ERR_TTRPC_STATUS");
        assert.equal(err.grpcCode, 5);
        assert.equal(err.message, `/${AA_SERVICE}/BindInitData is not supported`);
        return true;
      },
    );
    c.close();
  });

  test("a failing handler answers INTERNAL with its message", async () => {
    const c = new TtrpcClient(address);
    await assert.rejects(
      c.call(AA_SERVICE, "GetToken", AaMessages.GetTokenRequest, AaMessages.GetTokenResponse, {
        TokenType: "kbs",
      }),
      {
        code: "ERR_TTRPC_STATUS",
        grpcCode: 13,
        message: "[ERROR:attestation-agent] AA-KBC get token failed",
      },
    );
    c.close();
  });

  test("a client deadline fails the call with ERR_TTRPC_TIMEOUT", async () => {
    const c = new TtrpcClient(address);
    await assert.rejects(
      c.call(
        AA_SERVICE,
        "GetToken",
        AaMessages.GetTokenRequest,
        AaMessages.GetTokenResponse,
        { TokenType: "hang" },
        { timeoutMs: 100 },
      ),
      { code: "ERR_TTRPC_TIMEOUT" },
    );
    hang?.();
    c.close();
  });

  test("connecting to a missing socket is ERR_TTRPC_CONNECT", async () => {
    const c = new TtrpcClient(`unix://${join(dir, "none.sock")}`);
    await assert.rejects(c.callRaw("a", "b", new Uint8Array(0)), { code: "ERR_TTRPC_CONNECT" });
  });

  test("rejects non-unix addresses", () => {
    assert.throws(() => new TtrpcClient("vsock://3:1024"), { code: "ERR_TTRPC_BAD_ADDRESS" });
    assert.throws(() => new TtrpcClient("unix://relative.sock"), { code: "ERR_TTRPC_BAD_ADDRESS" });
  });
});

describe("ttrpc server under bad input keeps serving", () => {
  const survives = async () => {
    const c = new TtrpcClient(address);
    const r = await c.call(
      AA_SERVICE,
      "GetTeeType",
      AaMessages.GetTeeTypeRequest,
      AaMessages.GetTeeTypeResponse,
      {},
    );
    assert.equal(r.tee, "sample");
    c.close();
  };

  test("closes a connection whose frame announces more than 4 MiB", async () => {
    const head = new Uint8Array(10);
    new DataView(head.buffer).setUint32(0, MAX_PAYLOAD + 1);
    head[7] = 1;
    head[8] = 1;
    const r = await rawExchange(head);
    assert.equal(r.closed, true);
    assert.equal(r.frames.length, 0);
    await survives();
  });

  test("closes a connection that sends an even stream id or a data frame", async () => {
    const body = RequestCodec.encode({ service: AA_SERVICE, method: "GetTeeType" });
    const even = await rawExchange(encodeFrame({ streamId: 2, type: 1, flags: 0, payload: body }));
    assert.equal(even.closed, true);
    const data = await rawExchange(encodeFrame({ streamId: 1, type: 3, flags: 0, payload: body }));
    assert.equal(data.closed, true);
    await survives();
  });

  test("answers INVALID_ARGUMENT to a garbled Request, then closes", async () => {
    const r = await rawExchange(
      encodeFrame({
        streamId: 1,
        type: 1,
        flags: 0,
        payload: Buffer.from("ffffffffffffffffffff", "hex"),
      }),
    );
    assert.equal(r.closed, true);
    assert.equal(r.frames.length, 1);
    const res = ResponseCodec.decode(r.frames[0]?.payload ?? new Uint8Array(0));
    assert.equal(res.status?.code, 3);
    await survives();
  });

  test("random garbage does not crash the server", async () => {
    for (let i = 0; i < 20; i++) {
      const junk = new Uint8Array(64 + i * 13);
      for (let j = 0; j < junk.length; j++) junk[j] = (j * 7919 + i * 104729) & 0xff;
      await rawExchange(junk);
    }
    await survives();
  });

  test("a well-formed request on a raw socket gets a response on the same stream id", async () => {
    const body = RequestCodec.encode({ service: AA_SERVICE, method: "GetTeeType" });
    const sock = connect(join(dir, "aa.sock"));
    const dec = new FrameDecoder();
    const frame = await new Promise<ReturnType<FrameDecoder["push"]>[number]>((resolve) => {
      sock.on("data", (c) => {
        const f = dec.push(c)[0];
        if (f) resolve(f);
      });
      sock.write(encodeFrame({ streamId: 7, type: 1, flags: 0, payload: body }));
    });
    sock.destroy();
    assert.equal(frame.streamId, 7);
    assert.equal(frame.type, 2);
    assert.equal(
      AaMessages.GetTeeTypeResponse.decode(ResponseCodec.decode(frame.payload).payload).tee,
      "sample",
    );
  });
});
