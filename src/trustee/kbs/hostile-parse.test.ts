/**
 * Hostile bodies under the size limit (issue #15, class 3): nesting, key floods and duplicate
 * keys must be refused while the body arrives, before any parse work, with a coded 401.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { handshake } from "../../../test/e2e/trustee-client.js";
import { rawRequest } from "../../../test/helpers/raw-http.js";
import { createRegoPolicyEngine } from "../as/policy/rego-engine.js";
import { parseTrusteeConfig } from "../config.js";
import { type RunningTrustee, startTrustee } from "../trustee.js";

const CONFIG = `
[http_server]
sockets = ["127.0.0.1:0"]
insecure_http = true
[admin]
authorization_mode = "InsecureAllowAll"
`;

/** A liveness bound for a reply that must come while the body is still open (not a timing). */
const HANG_MS = 20_000;

describe("hostile JSON bodies", () => {
  let t: RunningTrustee;
  let base: string;
  const internal: string[] = [];
  before(async () => {
    t = await startTrustee({
      config: parseTrusteeConfig(CONFIG),
      policyEngine: createRegoPolicyEngine(),
      log: (l) => {
        if (l.includes("internal error")) internal.push(l);
      },
    });
    base = t.urls[0] as string;
  });
  after(async () => {
    await t?.close();
  });

  test("a deeply nested body is refused before it has all arrived", async () => {
    const u = new URL(base);
    const auth = await rawRequest(
      base,
      "POST",
      "/kbs/v0/auth",
      JSON.stringify({ version: "0.4.0", tee: "sample", "extra-params": "" }),
      { "content-type": "application/json" },
    );
    const cookie = String(auth.headers["set-cookie"]?.[0] ?? "").split(";")[0] as string;
    const declared = 1_500_000;
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: u.hostname,
          port: Number(u.port),
          method: "POST",
          path: "/kbs/v0/attest",
          headers: {
            "content-type": "application/json",
            "content-length": String(declared),
            cookie,
          },
          agent: false,
        },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on("error", reject);
      // One tenth of the declared body; the rest is never sent unless the server waits for it.
      req.write("[".repeat(150_000));
      setTimeout(() => {
        req.destroy();
        reject(
          new Error("no answer while the body was incomplete: the server waited for all of it"),
        );
      }, HANG_MS).unref();
    });
    assert.equal(reply.status, 401, reply.text);
    const body = JSON.parse(reply.text) as { type: string; detail: string };
    assert.match(body.type, /AttestationError$/);
    assert.match(body.detail, /nests deeper than 32/);
  });

  test("an object with a key flood is refused, naming the limit", async () => {
    const flood = `{${Array.from({ length: 5000 }, (_, i) => `"k${i}":0`).join(",")}}`;
    const a = await rawRequest(base, "POST", "/kbs/v0/auth", flood, {
      "content-type": "application/json",
    });
    assert.equal(a.status, 401, a.text);
    assert.match((a.body as { detail: string }).detail, /more than 1024 keys/);
  });

  test("duplicate keys in an RCAR message are refused (serde refuses a duplicate field)", async () => {
    const dup =
      '{"version":"0.4.0","tee":"snp","tee":"sample","extra-params":{"supported-hash-algorithms":["sha384"]}}';
    const a = await rawRequest(base, "POST", "/kbs/v0/auth", dup, {
      "content-type": "application/json",
    });
    assert.equal(a.status, 401, a.text);
    assert.match((a.body as { detail: string }).detail, /names a key twice/);
  });

  test("additional_evidence is held to the same limits", async () => {
    const h = await handshake(base, {
      tamper: (att) => {
        (att["tee-evidence"] as Record<string, unknown>).additional_evidence =
          `{"sampledevice":${"[".repeat(100)}${"]".repeat(100)}}`;
      },
    });
    assert.equal(h.attest.status, 401, h.attest.text);
    assert.match(
      (h.attest.body as { detail: string }).detail,
      /additional_evidence: .*nests deeper/,
    );
  });

  test("init-data TOML nesting is refused by the pre-scan", async () => {
    const deep = `version = "0.1.0"\nalgorithm = "sha384"\n[data]\nx = "1"\n[y]\nz = ${"[".repeat(500)}${"]".repeat(500)}\n`;
    const h = await handshake(base, { initData: deep });
    assert.equal(h.attest.status, 401, h.attest.text);
    assert.match(
      (h.attest.body as { detail: string }).detail,
      /init-data: TOML nests deeper than 16/,
    );
  });

  test("no hostile body produced an internal error", () => {
    assert.deepEqual(internal, []);
  });
});
