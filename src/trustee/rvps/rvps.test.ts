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

const measurementsMessage = (doc: unknown) => ({
  version: "0.1.0",
  type: "coco-measurements",
  payload: Buffer.from(JSON.stringify(doc)).toString("base64"),
});

test("coco-measurements: values with provenance and expiry; list and delete", async () => {
  const t = new Date("2026-06-01T12:00:00.250Z");
  const rvps = createRvps(createMemoryStore(), { now: () => t, snapshotTtlMs: 0 });
  const names = await rvps.register(
    measurementsMessage({
      reference_values: { snp_launch_measurement: ["ab"], mr_td: ["cd"] },
      expiration: "2026-09-01T00:00:00Z",
      provenance: { source: "snp-report", subject: "/tmp/r.bin", tool: "coco kbs-client 0.1.0" },
    }),
  );
  assert.deepEqual(names, ["snp_launch_measurement", "mr_td"]);
  await rvps.register(sampleMessage({ svn: ["1"] }));
  const listed = await rvps.list();
  assert.deepEqual(
    listed.map((r) => [r.name, r.expiration, r.expired, r.provenance?.source, r.registered]),
    [
      ["mr_td", "2026-09-01T00:00:00Z", false, "snp-report", "2026-06-01T12:00:00Z"],
      [
        "snp_launch_measurement",
        "2026-09-01T00:00:00Z",
        false,
        "snp-report",
        "2026-06-01T12:00:00Z",
      ],
      ["svn", "2027-06-01T12:00:00Z", false, undefined, "2026-06-01T12:00:00Z"],
    ],
  );
  await rvps.delete("mr_td");
  await assert.rejects(rvps.query("mr_td"), { code: "ERR_RVPS_NOT_FOUND" });
  assert.equal((await rvps.snapshot()).has("mr_td"), false);
  await assert.rejects(rvps.delete("mr_td"), { code: "ERR_RVPS_NOT_FOUND" });
  await assert.rejects(rvps.delete("bad name"), { code: "ERR_RVPS_NAME" });
});

test("coco-measurements: expired values are listed as expired and no longer answered", async () => {
  let t = new Date("2026-06-01T00:00:00Z");
  const rvps = createRvps(createMemoryStore(), { now: () => t, snapshotTtlMs: 0 });
  await rvps.register(
    measurementsMessage({
      reference_values: { x: [1] },
      expiration: "2026-06-02T00:00:00Z",
      provenance: { source: "manual" },
    }),
  );
  t = new Date("2026-06-03T00:00:00Z");
  assert.deepEqual(
    (await rvps.list()).map((r) => [r.name, r.expired]),
    [["x", true]],
  );
  await assert.rejects(rvps.query("x"), { code: "ERR_RVPS_EXPIRED" });
});

test("coco-measurements: malformed documents are refused, naming the member", async () => {
  const now = new Date("2026-06-01T00:00:00Z");
  const rvps = createRvps(createMemoryStore(), { now: () => now });
  const ok = { reference_values: { x: [1] }, provenance: { source: "manual" } };
  const bad: [unknown, RegExp][] = [
    [{ ...ok, reference_values: {} }, /non-empty object/],
    [{ ...ok, reference_values: [1] }, /non-empty object/],
    [{ provenance: ok.provenance }, /non-empty object/],
    [{ ...ok, extra: 1 }, /unknown member/],
    [{ ...ok, expiration: "tomorrow" }, /RFC 3339/],
    [{ ...ok, expiration: "2026-05-01T00:00:00Z" }, /in the past/],
    [{ ...ok, expiration: "2046-06-02T00:00:00Z" }, /ten years/],
    [{ reference_values: ok.reference_values }, /provenance must be an object/],
    [{ ...ok, provenance: { source: 1 } }, /provenance\.source/],
    [{ ...ok, provenance: { Source: "x" } }, /provenance\.Source/],
    [{ ...ok, provenance: { note: "n".repeat(513) } }, /provenance\.note/],
    [
      {
        ...ok,
        reference_values: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`n${i}`, 1])),
      },
      /more than 256/,
    ],
  ];
  for (const [doc, why] of bad) {
    await assert.rejects(
      rvps.register(measurementsMessage(doc)),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "ERR_RVPS_MESSAGE");
        assert.match(e.message, why);
        return true;
      },
    );
  }
});

test("snapshots asked for at once share one load; a register during a load is not lost", async () => {
  const inner = createMemoryStore();
  let lists = 0;
  const store = {
    ...inner,
    get: inner.get.bind(inner),
    put: inner.put.bind(inner),
    delete: inner.delete.bind(inner),
    close: inner.close.bind(inner),
    list: async (ns: string) => {
      lists++;
      return inner.list(ns);
    },
  };
  const rvps = createRvps(store);
  await rvps.register(sampleMessage({ svn: ["1"] }));
  const snaps = await Promise.all(Array.from({ length: 32 }, () => rvps.snapshot()));
  assert.equal(lists, 1);
  for (const s of snaps) assert.deepEqual(s.get("svn"), ["1"]);
  // Cached now; a register drops the cache, and a load racing it is neither shared nor kept.
  const [racing] = [rvps.snapshot(), await rvps.register(sampleMessage({ svn: ["2"] }))];
  assert.deepEqual((await racing).get("svn"), ["1"]);
  const loading = rvps.snapshot();
  const registering = rvps.register(sampleMessage({ svn: ["3"] }));
  await loading;
  await registering;
  assert.deepEqual((await rvps.snapshot()).get("svn"), ["3"]);
});
