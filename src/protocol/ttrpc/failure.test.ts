import assert from "node:assert/strict";
import { test } from "node:test";
import { CocoError } from "../../errors.js";
import { failingAs, failureMessage } from "./failure.js";
import type { CallContext } from "./server.js";

const ctx: CallContext = { service: "s", method: "m", metadata: [], timeoutNano: 0n };

test("a coded failure keeps its code after upstream's prefix and what failed", async () => {
  const guard = failingAs("[CDH] [ERROR]: ");
  const handler = guard("Get Resource failed", async (_req: { path: string }) => {
    throw new CocoError("ERR_KBS_CLIENT_UNREACHABLE", "connection refused");
  });
  await assert.rejects(handler({ path: "a/b/c" }, ctx), {
    message: "[CDH] [ERROR]: Get Resource failed: ERR_KBS_CLIENT_UNREACHABLE: connection refused",
  });
});

test("an uncoded failure or a thrown non-Error is described without a code part", () => {
  assert.equal(
    failureMessage("[ERROR:attestation-agent] ", "AA-KBC get token failed", new Error("boom")),
    "[ERROR:attestation-agent] AA-KBC get token failed: boom",
  );
  assert.equal(failureMessage("p ", "x", null), "p x: null");
  assert.equal(failureMessage("p ", "x", { code: 5 }), "p x: [object Object]");
});

test("a handler that succeeds answers its value unchanged", async () => {
  const handler = failingAs("p ")("x", async (req: number) => ({ n: req + 1 }));
  assert.deepEqual(await handler(41, ctx), { n: 42 });
});
