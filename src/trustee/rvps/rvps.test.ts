import assert from "node:assert/strict";
import { test } from "node:test";
import { createMemoryStore } from "../storage/memory.js";
import { createRvps } from "./rvps.js";

const sampleMessage = (values: unknown) => ({
  version: "0.1.0",
  type: "sample",
  payload: Buffer.from(JSON.stringify(values)).toString("base64"),
});

test("registers sample reference values and answers queries", async () => {
  const rvps = createRvps(createMemoryStore());
  const names = await rvps.register(sampleMessage({ svn: ["1"], "rvps:///ns/x:tag": { a: 1 } }));
  assert.deepEqual(names, ["svn", "rvps:///ns/x:tag"]);
  assert.deepEqual(await rvps.query("svn"), ["1"]);
  assert.deepEqual(await rvps.query("rvps:///ns/x:tag"), { a: 1 });
  const snap = await rvps.snapshot();
  assert.deepEqual(snap.get("svn"), ["1"]);
  await assert.rejects(rvps.query("missing"), { code: "ERR_RVPS_NOT_FOUND" });
});

test("enforces expiry, which upstream stores but never checks", async () => {
  let t = new Date("2026-01-01T00:00:00Z");
  const rvps = createRvps(createMemoryStore(), {
    now: () => t,
    lifetimeMs: 60_000,
    snapshotTtlMs: 0,
  });
  await rvps.register(sampleMessage({ svn: ["1"] }));
  assert.deepEqual(await rvps.query("svn"), ["1"]);
  t = new Date("2026-01-01T00:01:01Z");
  await assert.rejects(rvps.query("svn"), { code: "ERR_RVPS_EXPIRED" });
  assert.equal((await rvps.snapshot()).has("svn"), false);
});

test("malformed messages and unsupported extractors are coded errors", async () => {
  const rvps = createRvps(createMemoryStore());
  const bad: unknown[] = [
    null,
    [],
    { version: "0.2.0", type: "sample", payload: "" },
    { type: "sample", payload: "!!!" },
    { type: "sample", payload: Buffer.from("[1]").toString("base64") },
    { type: "sample", payload: Buffer.from("{nope").toString("base64") },
    { type: "sample" },
  ];
  for (const m of bad) await assert.rejects(rvps.register(m), { code: "ERR_RVPS_MESSAGE" });
  await assert.rejects(rvps.register({ type: "in-toto", payload: "" }), {
    code: "ERR_RVPS_EXTRACTOR",
  });
  await assert.rejects(rvps.register(sampleMessage({ "bad name": 1 })), { code: "ERR_RVPS_NAME" });
});
