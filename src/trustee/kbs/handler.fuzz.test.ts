/**
 * Hostile guests against a live KBS (loopback HTTP, sample verifier): mutated RCAR Request and
 * Attestation bodies, raw garbage bodies, odd paths and cookies. Property: every answer is a
 * 2xx or a 4xx carrying upstream's ErrorInformation JSON (`type`, `detail`) — a 500 means an
 * uncoded error reached the HTTP edge — each request ends within the hang bound, and the
 * server keeps answering.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { call, handshake } from "../../../test/e2e/trustee-client.js";
import { mutate, mutateJson, Rng } from "../../../test/helpers/fuzz.js";
import { createRegoPolicyEngine } from "../as/policy/rego-engine.js";
import { parseTrusteeConfig } from "../config.js";
import { type RunningTrustee, startTrustee } from "../trustee.js";

const CONFIG = `
[http_server]
sockets = ["127.0.0.1:0"]
insecure_http = true
[admin]
authorization_mode = "InsecureAllowAll"
[[plugins]]
name = "resource"
`;

describe("KBS under hostile guests", () => {
  let t: RunningTrustee;
  const internal: string[] = [];
  before(async () => {
    t = await startTrustee({
      config: parseTrusteeConfig(CONFIG),
      policyEngine: createRegoPolicyEngine(),
      log: (l) => {
        if (l.includes("internal error")) internal.push(l);
      },
    });
  });
  after(async () => {
    await t?.close();
  });

  /** Asserts the answer is 2xx, or 4xx with ErrorInformation JSON. */
  function check(where: string, a: { status: number; body: unknown; text: string }): void {
    if (a.status >= 200 && a.status < 300) return;
    assert.ok(
      a.status >= 400 && a.status < 500,
      `${where}: HTTP ${a.status} ${a.text.slice(0, 200)}`,
    );
    const b = a.body as { type?: unknown; detail?: unknown } | undefined;
    assert.ok(
      typeof b?.type === "string" && typeof b.detail === "string",
      `${where}: not ErrorInformation: ${a.text.slice(0, 200)}`,
    );
  }

  test("mutated auth and attest bodies get coded answers", async () => {
    const base = t.urls[0] as string;
    const rng = new Rng(0xcb5);
    const authBody = {
      version: "0.4.0",
      tee: "sample",
      "extra-params": { "supported-hash-algorithms": ["sha256", "sha384"] },
    };
    for (let i = 0; i < 800; i++) {
      const t0 = performance.now();
      const kind = rng.int(4);
      if (kind === 0) {
        const a = await call(`${base}/kbs/v0/auth`, "POST", mutateJson(rng, authBody) ?? null);
        check(`auth #${i}`, a);
      } else if (kind === 1) {
        const bytes = mutate(rng, new Uint8Array(Buffer.from(JSON.stringify(authBody))));
        const a = await call(
          `${base}/kbs/v0/${rng.pick(["auth", "attest", "resource/a/b/c"])}`,
          "POST",
          bytes,
          { "content-type": "application/json" },
        );
        check(`raw #${i}`, a);
      } else if (kind === 2) {
        const h = await handshake(base, {
          tamper: (att) => {
            const m = mutateJson(rng, att);
            for (const k of Object.keys(att)) delete att[k];
            if (m !== null && typeof m === "object" && !Array.isArray(m)) Object.assign(att, m);
          },
        });
        check(`attest #${i}`, h.attest);
      } else {
        const path = rng.pick([
          "resource/../../etc/passwd",
          "resource/%2e%2e/x/y",
          "resource/a/b/c",
          "resource/a%00/b/c",
          "%ff",
          "attest",
          "auth/x",
          "resource-policy",
          `resource/${"a/".repeat(2000)}`,
        ]);
        const a = await call(
          `${base}/kbs/v0/${path}`,
          rng.pick(["GET", "POST", "DELETE"]),
          undefined,
          {
            cookie: rng.pick([
              "kbs-session-id=x",
              "kbs-session-id=",
              `kbs-session-id=${"A".repeat(5000)}`,
              "a=b",
            ]),
            authorization: rng.pick(["Bearer x.y.z", "Bearer ", "Basic Zm9v", ""]),
          },
        );
        check(`path #${i} ${path.slice(0, 40)}`, a);
      }
      const ms = performance.now() - t0;
      assert.ok(ms < 2000, `request ${i} took ${ms.toFixed(0)} ms`);
    }
    assert.deepEqual(internal, []);
    // Still serving: a clean handshake succeeds.
    const ok = await handshake(base);
    assert.equal(ok.attest.status, 200, ok.attest.text);
  });

  test("mutated attestation tokens never release a resource", async () => {
    const base = t.urls[0] as string;
    const allowAll = Buffer.from("package policy\ndefault allow = true\n").toString("base64url");
    const set = await call(`${base}/kbs/v0/resource-policy`, "POST", { policy: allowAll });
    assert.equal(set.status, 200, set.text);
    const put = await call(
      `${base}/kbs/v0/resource/fuzz/key/one`,
      "POST",
      new TextEncoder().encode("s3cret"),
    );
    assert.equal(put.status, 200, put.text);
    const h = await handshake(base);
    assert.equal(h.attest.status, 200, h.attest.text);
    const token = h.token as string;
    const get = (tok: string) =>
      call(`${base}/kbs/v0/resource/fuzz/key/one`, "GET", undefined, {
        authorization: `Bearer ${tok}`,
      });
    assert.equal((await get(token)).status, 200, "the genuine token must work");
    const rng = new Rng(0x70c);
    const [hd, pl, sg] = token.split(".") as [string, string, string];
    for (let i = 0; i < 300; i++) {
      let forged: string;
      const k = rng.int(4);
      if (k === 0) {
        // Re-encode a mutated claims object under the original header and signature.
        const claims = JSON.parse(Buffer.from(pl, "base64url").toString("utf8"));
        forged = `${hd}.${Buffer.from(JSON.stringify(mutateJson(rng, claims)) ?? "null").toString("base64url")}.${sg}`;
      } else if (k === 1) {
        const hdr = JSON.parse(Buffer.from(hd, "base64url").toString("utf8"));
        const alg = rng.pick(["none", "HS256", "ES256", "RS256", "EdDSA", ""]);
        forged = `${Buffer.from(JSON.stringify({ ...hdr, alg })).toString("base64url")}.${pl}.${rng.chance(0.5) ? "" : sg}`;
      } else if (k === 2) {
        forged = Buffer.from(mutate(rng, new Uint8Array(Buffer.from(token)))).toString("latin1");
      } else {
        const sig = Buffer.from(mutate(rng, new Uint8Array(Buffer.from(sg, "base64url")))).toString(
          "base64url",
        );
        forged = `${hd}.${pl}.${sig}`;
      }
      // fetch refuses header values with control or non-ASCII bytes before they leave.
      if (forged === token || !/^[\x21-\x7e]*$/.test(forged)) continue;
      const a = await get(forged);
      if (a.status === 200) {
        // A no-op re-encoding is not a forgery (e.g. base64url trailing bits); anything else is.
        assert.fail(`forged token #${i} released the resource: ${forged.slice(0, 120)}`);
      }
      check(`token #${i}`, a);
    }
    assert.deepEqual(internal, []);
  });
});
