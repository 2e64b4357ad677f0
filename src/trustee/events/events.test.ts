import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createMemoryStore } from "../storage/memory.js";
import type { KeyValueStore } from "../storage/types.js";
import {
  batchKey,
  EVENT_NAMESPACE,
  keysToSweep,
  MAX_BATCH_BYTES,
  parseBatch,
  parseBatchKey,
  splitBatches,
  toReplicaName,
} from "./batches.js";
import { appraisalOf, jwkThumbprint, type TrusteeEventInput } from "./event.js";
import { parseEventFilter } from "./filter.js";
import { createEventRecorder } from "./recorder.js";

const input = (over: Partial<TrusteeEventInput> = {}): TrusteeEventInput => ({
  kind: "attestation",
  verdict: "allow",
  action: "attest",
  who: { client: "127.0.0.1" },
  tee: "sample",
  duration_ms: 1,
  ...over,
});

/** A store whose writes fail while `down` is true. */
function flakyStore(): KeyValueStore & { down: boolean } {
  const inner = createMemoryStore();
  const s = {
    down: false,
    get: inner.get,
    list: inner.list,
    delete: inner.delete,
    close: inner.close,
    put(ns: string, key: string, value: Uint8Array, opts?: { overwrite?: boolean }) {
      if (s.down) return Promise.reject(new Error("connection refused"));
      return inner.put(ns, key, value, opts);
    },
  };
  return s;
}

describe("event batches", () => {
  test("keys round-trip and sort by the batch's first event", () => {
    const k = batchKey({
      first: 1700000000000,
      last: 1700000000999,
      replica: "a",
      seq: 3,
      bytes: 10,
    });
    assert.deepEqual(parseBatchKey(k), {
      key: k,
      first: 1700000000000,
      last: 1700000000999,
      replica: "a",
      seq: 3,
      bytes: 10,
    });
    const earlier = batchKey({ first: 999999999999, last: 1, replica: "z", seq: 0, bytes: 1 });
    assert.ok(earlier < k);
    for (const bad of ["", "x", "1-2-a-3-4", `${k}/x`, `${k}-`, k.replace("-a-", "-a.b-")]) {
      assert.equal(parseBatchKey(bad), undefined, bad);
    }
  });

  test("replica names are reduced to key characters", () => {
    assert.equal(toReplicaName("trustee-0.example.org_12"), "trustee_0_example_org_12");
    assert.equal(toReplicaName(""), "trustee");
    assert.equal(toReplicaName("x".repeat(100)).length, 48);
  });

  test("batches stay under the size bound and keep order", () => {
    const line = "x".repeat(1000);
    const lines = Array.from({ length: 200 }, (_, i) => ({ line: `${line}${i}`, at: i }));
    const batches = splitBatches(lines);
    assert.ok(batches.length >= 3);
    for (const b of batches) assert.ok(Buffer.byteLength(b.body) <= MAX_BATCH_BYTES);
    assert.equal(
      batches
        .map((b) => b.body)
        .join("")
        .split("\n").length - 1,
      200,
    );
    assert.equal(batches[0]?.first, 0);
    assert.equal(batches.at(-1)?.last, 199);
  });

  test("a stored batch that is not JSON lines of events is refused", () => {
    assert.throws(() => parseBatch(new TextEncoder().encode("{oops\n"), "k"), {
      code: "ERR_EVENT_RECORD",
    });
    assert.throws(() => parseBatch(new TextEncoder().encode('{"a":1}\n'), "k"), {
      code: "ERR_EVENT_RECORD",
    });
  });

  test("sweeping keeps the newest batches within the byte budget and the age", () => {
    const keys = [1, 2, 3, 4].map((i) => ({
      key: `k${i}`,
      first: i * 1000,
      last: i * 1000 + 500,
      replica: "a",
      seq: i,
      bytes: 100,
    }));
    assert.deepEqual(keysToSweep(keys, 5000, 1e9, 250).sort(), ["k1", "k2"]);
    assert.deepEqual(keysToSweep(keys, 5000, 2000, 1e9).sort(), ["k1", "k2"]);
    assert.deepEqual(keysToSweep(keys, 5000, 1e9, 1e9), []);
  });

  test("batches written in the same millisecond are swept oldest first by their sequence number", () => {
    // Batch 9 and batch 19 of one replica, same first and last ms: as text "19" < "9".
    const keys = [9, 19].map((seq) => {
      const k = { first: 7000, last: 7000, replica: "r", seq, bytes: 100 };
      return { ...k, key: batchKey(k) };
    });
    assert.deepEqual(keysToSweep(keys, 8000, 1e9, 150), [keys[0]?.key]);
  });
});

describe("event filters", () => {
  test("parse every parameter", () => {
    assert.deepEqual(
      parseEventFilter({
        kind: "resource",
        verdict: "deny",
        tee: "snp",
        resource: "a/b/c",
        since: "2026-01-01T00:00:00Z",
        limit: "5",
        follow: "true",
      }),
      {
        kind: "resource",
        verdict: "deny",
        tee: "snp",
        resource: "a/b/c",
        since: Date.parse("2026-01-01T00:00:00Z"),
        limit: 5,
      },
    );
    assert.equal(parseEventFilter({ since: "1700000000000" }).since, 1700000000000);
  });

  test("refuse bad values, naming the parameter", () => {
    for (const [k, v] of [
      ["kind", "login"],
      ["verdict", "maybe"],
      ["tee", "SNP!"],
      ["since", "yesterday"],
      ["limit", "0"],
      ["limit", "10001"],
      ["limit", "1e3"],
      ["follow", "yes"],
      ["resource", "r".repeat(600)],
    ] as const) {
      assert.throws(
        () => parseEventFilter({ [k]: v }),
        (e: Error & { code?: string }) => e.code === "ERR_EVENT_FILTER" && e.message.includes(k),
      );
    }
  });
});

describe("appraisal of a token's claims", () => {
  test("reads verdicts, trust vectors, the key thumbprint and init-data, nothing else", () => {
    const jwk = { kty: "EC", crv: "P-256", alg: "ECDH-ES+A256KW", x: "AAAA", y: "BBBB" };
    const a = appraisalOf({
      submods: {
        cpu0: {
          "ear.status": "warning",
          "ear.trustworthiness-vector": { executables: 33, hardware: 2 },
          "ear.appraisal-policy-id": "default_cpu",
          "ear.veraison.annotated-evidence": {
            snp: { measurement: "secret-ish" },
            report_data: "rd",
            init_data: "aW5pdA==",
            runtime_data_claims: { nonce: "n", "tee-pubkey": jwk },
          },
        },
      },
    });
    assert.deepEqual(a.ear, {
      cpu0: {
        status: "warning",
        trust_vector: { executables: 33, hardware: 2 },
        policy: "default_cpu",
      },
    });
    assert.equal(a.tee, "snp");
    assert.equal(a.initData, "aW5pdA==");
    assert.equal(a.teeKey, jwkThumbprint(jwk));
    assert.ok(!JSON.stringify(a).includes("measurement"));
  });

  test("RFC 7638 thumbprint of the RFC's own example key", () => {
    // RFC 7638 §3.1.
    const n =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    assert.equal(
      jwkThumbprint({ kty: "RSA", n, e: "AQAB", alg: "RS256", kid: "2011-04-29" }),
      "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    );
    assert.equal(jwkThumbprint({ kty: "oct", k: "x" }), undefined);
    assert.equal(jwkThumbprint(null), undefined);
  });
});

describe("event recorder", () => {
  test("query answers recorded events before and after they are written, newest last", async () => {
    let t = 1_700_000_000_000;
    const store = createMemoryStore();
    const r = createEventRecorder({ store, replica: "r1", now: () => t++ });
    try {
      r.record(input({ verdict: "deny" }));
      r.record(input());
      assert.equal((await r.query()).length, 2, "pending events are answered");
      await r.flush();
      assert.equal((await store.list(EVENT_NAMESPACE)).length, 1);
      r.record(input({ kind: "resource", resource: "a/b/c" }));
      const all = await r.query();
      assert.deepEqual(
        all.map((e) => [e.kind, e.verdict]),
        [
          ["attestation", "deny"],
          ["attestation", "allow"],
          ["resource", "allow"],
        ],
      );
      assert.match(all[0]?.id ?? "", /^\d{13}-r1-0$/);
      assert.deepEqual(
        (await r.query({ verdict: "deny" })).map((e) => e.id),
        [all[0]?.id],
      );
      assert.deepEqual(
        (await r.query({ limit: 1 })).map((e) => e.id),
        [all[2]?.id],
      );
      assert.deepEqual(
        (await r.query({ since: Date.parse(all[1]?.time ?? "") })).map((e) => e.id),
        [all[1]?.id, all[2]?.id],
      );
    } finally {
      await r.close();
    }
  });

  test("events wait in memory while the store fails, and the oldest beyond the bound are dropped", async () => {
    const store = flakyStore();
    const logs: string[] = [];
    const r = createEventRecorder({
      store,
      replica: "r1",
      maxPending: 3,
      log: (l) => logs.push(l),
    });
    try {
      store.down = true;
      for (let i = 0; i < 5; i++) r.record(input({ action: `a${i}` }));
      await r.flush();
      assert.deepEqual(r.stats(), { recorded: 5, written: 0, dropped: 2, pending: 3 });
      assert.equal(logs.filter((l) => l.includes("cannot write")).length, 1);
      store.down = false;
      await r.flush();
      assert.deepEqual(r.stats(), { recorded: 5, written: 3, dropped: 2, pending: 0 });
      assert.deepEqual(
        (await r.query()).map((e) => e.action),
        ["a2", "a3", "a4"],
      );
    } finally {
      await r.close();
    }
  });

  test("replicas sharing a store see each other's events in queries and streams", async () => {
    const store = createMemoryStore();
    const a = createEventRecorder({ store, replica: "a", pollIntervalMs: 20 });
    const b = createEventRecorder({ store, replica: "b", pollIntervalMs: 20 });
    try {
      const seen: string[] = [];
      const stop = a.follow({ verdict: "deny" }, (e) => seen.push(`${e.replica}:${e.action}`));
      await new Promise((r) => setTimeout(r, 60)); // the first poll notes what exists
      a.record(input({ verdict: "deny", action: "local" }));
      b.record(input({ verdict: "deny", action: "remote" }));
      b.record(input({ verdict: "allow", action: "filtered-out" }));
      await b.flush();
      for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      stop();
      assert.deepEqual(seen.sort(), ["a:local", "b:remote"]);
      await a.flush();
      assert.deepEqual((await b.query()).map((e) => e.action).sort(), [
        "filtered-out",
        "local",
        "remote",
      ]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("a flood of events is swept at once, without waiting for the timer", async () => {
    const store = createMemoryStore();
    // The timer would sweep in an hour: only the early sweep can keep this bound.
    const r = createEventRecorder({
      store,
      replica: "r",
      storeBytes: 4000,
      sweepIntervalMs: 3.6e6,
    });
    try {
      for (let i = 0; i < 200; i++) {
        r.record(input({ action: `flood-${i}` }));
        if (i % 10 === 9) await r.flush();
      }
      await r.flush();
      const keys = (await store.list(EVENT_NAMESPACE)).map((k) => parseBatchKey(k));
      const total = keys.reduce((n, k) => n + (k?.bytes ?? 0), 0);
      // The budget, an eighth more written before the sweep, and one flush.
      const oneFlush = Math.max(...keys.map((k) => k?.bytes ?? 0));
      assert.ok(total <= 4000 + 500 + oneFlush, `${total} bytes kept`);
      assert.equal((await r.query({ limit: 1 }))[0]?.action, "flood-199");
    } finally {
      await r.close();
    }
  });

  test("the namespace is swept to its byte budget", async () => {
    const store = createMemoryStore();
    const r = createEventRecorder({ store, replica: "r", storeBytes: 2000, sweepIntervalMs: 10 });
    try {
      for (let i = 0; i < 20; i++) {
        r.record(input({ action: `batch-${i}` }));
        await r.flush();
      }
      await new Promise((res) => setTimeout(res, 50));
      const keys = (await store.list(EVENT_NAMESPACE)).map((k) => parseBatchKey(k));
      const total = keys.reduce((n, k) => n + (k?.bytes ?? 0), 0);
      assert.ok(total <= 2000, `${total} bytes kept`);
      assert.ok(keys.length > 0 && keys.length < 20);
      const left = await r.query({ limit: 100 });
      assert.equal(left.at(-1)?.action, "batch-19", "the newest are kept");
    } finally {
      await r.close();
    }
  });
});
