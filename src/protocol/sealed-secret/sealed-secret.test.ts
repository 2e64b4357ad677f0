import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { CompactSign } from "jose";
import {
  importVerificationJwk,
  parseSealedSecret,
  parseSealedSecretUnverified,
  sealSecret,
  type VaultSecret,
  verifySealedSecret,
} from "./sealed-secret.js";

function p256Jwk(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { ...privateKey.export({ format: "jwk" }), alg: "ES256", use: "sig", kid: "test-key" };
}

const vault: VaultSecret = {
  version: "0.1.0",
  type: "vault",
  name: "kbs:///one/2/trois",
  provider: "kbs",
  provider_settings: {},
  annotations: {},
};

describe("sealed secrets", () => {
  test("seal then verify round-trips; output has upstream's header and payload bytes, no padding", async () => {
    const jwk = p256Jwk();
    const s = await sealSecret(vault, jwk, "test-key");
    assert.ok(s.startsWith("sealed."));
    assert.ok(!s.includes("="));
    const [, h, p] = s.split(".");
    assert.equal(Buffer.from(h ?? "", "base64url").toString(), '{"alg":"ES256","kid":"test-key"}');
    assert.equal(
      Buffer.from(p ?? "", "base64url").toString(),
      '{"version":"0.1.0","type":"vault","name":"kbs:///one/2/trois","provider":"kbs","provider_settings":{},"annotations":{}}',
    );
    const parsed = parseSealedSecret(s);
    assert.deepEqual(await verifySealedSecret(parsed, importVerificationJwk(jwk)), vault);
  });

  test("a secret signed by another key fails", async () => {
    const s = await sealSecret(vault, p256Jwk(), "test-key");
    await assert.rejects(
      verifySealedSecret(parseSealedSecret(s), importVerificationJwk(p256Jwk())),
      {
        code: "ERR_SEALED_SIGNATURE",
      },
    );
  });

  test("tampering anywhere fails (offsets 50, 200, 250 as upstream's test)", async () => {
    const jwk = p256Jwk();
    const s = await sealSecret(vault, jwk, "test-key");
    for (const off of [50, 200, 250]) {
      if (off >= s.length) continue;
      const c = s[off] === "A" ? "B" : "A";
      const t = s.slice(0, off) + c + s.slice(off + 1);
      await assert.rejects(
        (async () => verifySealedSecret(parseSealedSecret(t), importVerificationJwk(jwk)))(),
        (err: { code?: string }) =>
          typeof err.code === "string" && err.code.startsWith("ERR_SEALED_"),
      );
    }
  });

  test("an alg other than ES256 is refused before any key use", async () => {
    const secret = new Uint8Array(32).fill(7);
    const jws = await new CompactSign(Buffer.from(JSON.stringify(vault)))
      .setProtectedHeader({ alg: "HS256", kid: "test-key" })
      .sign(secret);
    await assert.rejects(
      verifySealedSecret(parseSealedSecret(`sealed.${jws}`), importVerificationJwk(p256Jwk())),
      {
        code: "ERR_SEALED_ALG",
      },
    );
  });

  test("skip-verification parsing needs exactly four parts", async () => {
    const s = await sealSecret(vault, p256Jwk(), "k");
    assert.deepEqual(parseSealedSecretUnverified(s), vault);
    assert.throws(() => parseSealedSecretUnverified(s.slice("sealed.".length)), {
      code: "ERR_SEALED_FORMAT",
    });
  });

  test("repeated sealed. prefixes are stripped as upstream does", async () => {
    const jwk = p256Jwk();
    const s = await sealSecret(vault, jwk, "k");
    const parsed = parseSealedSecret(`sealed.${s}`);
    assert.deepEqual(await verifySealedSecret(parsed, importVerificationJwk(jwk)), vault);
  });

  for (const [name, text, code] of [
    ["no prefix", "abc.def.ghi", "ERR_SEALED_FORMAT"],
    ["two parts", "sealed.abc.def", "ERR_SEALED_FORMAT"],
    ["padding", "sealed.ab=.cd.ef", "ERR_SEALED_FORMAT"],
    [
      "garbage header",
      `sealed.${Buffer.from("not json").toString("base64url")}.e30.AA`,
      "ERR_SEALED_FORMAT",
    ],
    [
      "no kid",
      `sealed.${Buffer.from('{"alg":"ES256"}').toString("base64url")}.e30.AA`,
      "ERR_SEALED_HEADER",
    ],
    [
      "bad version",
      `sealed.${Buffer.from('{"alg":"ES256","kid":"k"}').toString("base64url")}.${Buffer.from(JSON.stringify({ ...vault, version: "0.2.0" })).toString("base64url")}.AA`,
      "ERR_SEALED_VERSION",
    ],
    [
      "missing annotations",
      `sealed.${Buffer.from('{"alg":"ES256","kid":"k"}').toString("base64url")}.${Buffer.from(JSON.stringify({ ...vault, annotations: undefined })).toString("base64url")}.AA`,
      "ERR_SEALED_PAYLOAD",
    ],
    ["oversize", `sealed.${"A".repeat(1 << 20)}`, "ERR_SEALED_FORMAT"],
  ] as const) {
    test(`rejects ${name}`, () => {
      assert.throws(() => parseSealedSecret(text), { code });
    });
  }

  test("verification keys must be P-256 JWKs", () => {
    assert.throws(() => importVerificationJwk({ kty: "RSA" }), { code: "ERR_SEALED_KEY" });
    assert.throws(() => importVerificationJwk({ kty: "EC", crv: "P-256", x: "AA", y: "AA" }), {
      code: "ERR_SEALED_KEY",
    });
  });
});
