/**
 * Unauthenticated growth (issue #15, class 1): anyone can run a sample-TEE handshake, so
 * nothing a handshake sends may leave unbounded state behind. Oversized but valid inputs are
 * refused or kept within a byte budget; no handshake writes to disk before attestation
 * succeeds, except the event recording a refusal, which the event store keeps within its own
 * byte budget; a key that could never receive a resource gets no token.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { handshake } from "../../../test/e2e/trustee-client.js";
import { rawRequest } from "../../../test/helpers/raw-http.js";
import { generateTeeKeyPair } from "../../crypto/jwe.js";
import { createRegoPolicyEngine } from "../as/policy/rego-engine.js";
import { parseTrusteeConfig } from "../config.js";
import { EVENT_NAMESPACE } from "../events/index.js";
import { type RunningTrustee, startTrustee } from "../trustee.js";

/** Bytes under `dir`, recursively (0 when absent), leaving out the folders named in `except`. */
function du(dir: string, except: readonly string[] = []): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (except.includes(e)) continue;
    const p = join(dir, e);
    const st = statSync(p);
    total += st.isDirectory() ? du(p) : st.size;
  }
  return total;
}

/** A valid init-data document of about `bytes` bytes (one long data value). */
function bigInitData(bytes: number): string {
  return `version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"filler.txt" = "${"x".repeat(bytes)}"\n`;
}

describe("handshakes leave bounded state", () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-hostile-growth-"));
  let t: RunningTrustee;
  let base: string;
  before(async () => {
    t = await startTrustee({
      config: parseTrusteeConfig(`
[http_server]
sockets = ["127.0.0.1:0"]
insecure_http = true
[admin]
authorization_mode = "InsecureAllowAll"
[storage_backend]
storage_type = "LocalFs"
[storage_backend.backends.local_fs]
dir_path = "${join(dir, "store")}"
[stateless_session]
replay_ledger = "storage"
[events]
store_mib = 0.05
`),
      policyEngine: createRegoPolicyEngine(),
    });
    base = t.urls[0] as string;
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("failed handshakes write nothing to disk but their events", async () => {
    const before = du(join(dir, "store"), [EVENT_NAMESPACE]);
    for (let i = 0; i < 20; i++) {
      const h = await handshake(base, {
        tamper: (att) => {
          const ev = att["tee-evidence"] as { primary_evidence: { report_data: string } };
          ev.primary_evidence.report_data = Buffer.alloc(48, i).toString("base64");
        },
      });
      assert.equal(h.attest.status, 401, h.attest.text);
    }
    assert.equal(du(join(dir, "store"), [EVENT_NAMESPACE]) - before, 0);
  });

  test("refused handshakes are events, and events stay within their byte budget", async () => {
    const events = t.events;
    assert.ok(events !== undefined);
    for (let i = 0; i < 150; i++) {
      const h = await handshake(base, {
        tamper: (att) => {
          const ev = att["tee-evidence"] as { primary_evidence: { report_data: string } };
          ev.primary_evidence.report_data = Buffer.alloc(48, i).toString("base64");
        },
      });
      assert.equal(h.attest.status, 401, h.attest.text);
      if (i % 25 === 24) await events.flush();
    }
    await events.flush();
    const denials = await events.query({ kind: "attestation", verdict: "deny", limit: 1 });
    assert.match(denials[0]?.failure?.detail ?? "", /report data|report_data|REPORT_DATA/i);
    // 150 refusals are about three times the 0.05 MiB budget; what is kept is the budget, an
    // eighth more written before a sweep, and one flush.
    const folder = join(dir, "store", EVENT_NAMESPACE);
    const files = readdirSync(folder).map((f) => statSync(join(folder, f)).size);
    const budget = 0.05 * 1024 * 1024;
    const kept = files.reduce((a, b) => a + b, 0);
    assert.ok(kept <= budget * 1.125 + Math.max(...files), `${kept} bytes of events kept`);
    assert.ok(events.stats().recorded >= 170, "every refusal was recorded");
    // ... and the oldest were swept to stay within it.
    assert.ok((await events.query({ limit: 10_000 })).length < events.stats().recorded);
  });

  test("successful handshakes with large init-data do not write their tokens to disk", async () => {
    const before = du(join(dir, "store", "kbs_protocol_session"));
    for (let i = 0; i < 10; i++) {
      const h = await handshake(base, { initData: bigInitData(100_000) });
      assert.equal(h.attest.status, 200, h.attest.text);
      assert.ok((h.token?.length ?? 0) > 100_000);
    }
    // One process with its own session key: the tokens stay in its bounded memory.
    assert.equal(du(join(dir, "store", "kbs_protocol_session")) - before, 0);
  });

  test("init-data over the limit is refused before it reaches a token", async () => {
    const h = await handshake(base, { initData: bigInitData(300_000) });
    assert.equal(h.attest.status, 401, h.attest.text);
    assert.match((h.attest.body as { detail: string }).detail, /init-data.*(larger|longer) than/);
  });

  test("the /auth body is small: a huge extra-params is refused with 413", async () => {
    const body = JSON.stringify({
      version: "0.4.0",
      tee: "sample",
      "extra-params": { filler: "x".repeat(200_000) },
    });
    const a = await rawRequest(base, "POST", "/kbs/v0/auth", body, {
      "content-type": "application/json",
    });
    assert.equal(a.status, 413, a.text);
    assert.match((a.body as { type: string }).type, /PayloadTooLarge$/);
  });

  test("keys that could never receive a resource are refused at /attest", async () => {
    const rsa = generateTeeKeyPair("rsa").publicJwk as { n: string; e: string };
    const hugeN = Buffer.concat(Array.from({ length: 12 }, () => Buffer.from(rsa.n, "base64url")));
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey.export({
      format: "jwk",
    });
    const p256 = generateTeeKeyPair("ec-p256").publicJwk as { x: string; y: string };
    const bad: Array<[string, unknown]> = [
      [
        "RSA modulus of 24,576 bits",
        { kty: "RSA", alg: "RSA-OAEP-256", n: hugeN.toString("base64url"), e: rsa.e },
      ],
      ["RSA1_5", { kty: "RSA", alg: "RSA1_5", n: rsa.n, e: rsa.e }],
      [
        "RSA with a 40-byte exponent",
        { kty: "RSA", alg: "RSA-OAEP-256", n: rsa.n, e: Buffer.alloc(40, 1).toString("base64url") },
      ],
      ["EC P-384", { kty: "EC", crv: "P-384", alg: "ECDH-ES+A256KW", x: p384.x, y: p384.y }],
      [
        "EC with an RSA alg",
        { kty: "EC", crv: "P-256", alg: "RSA-OAEP-256", x: p256.x, y: p256.y },
      ],
      [
        "EC point off the curve",
        { kty: "EC", crv: "P-256", alg: "ECDH-ES+A256KW", x: p256.x, y: p256.x },
      ],
    ];
    const issued: string[] = [];
    for (const [what, key] of bad) {
      const h = await handshake(base, { teePubkey: key });
      if (h.attest.status === 200) issued.push(what);
      else assert.match((h.attest.body as { detail: string }).detail, /tee-pubkey/, what);
    }
    assert.deepEqual(issued, []);
  });
});
