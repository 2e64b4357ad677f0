import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { test } from "node:test";
import { exportJWK, SignJWT } from "../../crypto/jose.js";
import { createAdminAuthorizer } from "./admin-auth.js";
import { mintAdminToken } from "./admin-token.js";

const acls = [
  { role: "admin", allowedEndpoints: "^/kbs/.+$" },
  { role: "rv", allowedEndpoints: "^/kbs/v0/reference-value(/.*)?$" },
];

for (const [kind, opts] of [
  ["ed25519", undefined],
  ["ec", { namedCurve: "P-256" }],
  ["rsa", { modulusLength: 2048 }],
] as const) {
  test(`accepts ${kind} admin tokens from a PEM key and applies role regexes`, async () => {
    const { privateKey, publicKey } = generateKeyPairSync(
      kind as "ec",
      opts as never,
    ) as unknown as {
      privateKey: KeyObject;
      publicKey: KeyObject;
    };
    const auth = createAdminAuthorizer({
      mode: "AuthenticatedAuthorization",
      identityProviders: [{ publicKeys: [publicKey] }],
      acls,
    });
    await auth.check(`Bearer ${await mintAdminToken(privateKey)}`, "/kbs/v0/resource/a/b/c");
    const rv = await mintAdminToken(privateKey, { role: "rv" });
    await auth.check(`Bearer ${rv}`, "/kbs/v0/reference-value/x");
    await assert.rejects(auth.check(`Bearer ${rv}`, "/kbs/v0/resource-policy"), /may not call/);
    // The ACL sees the query string too.
    await assert.rejects(auth.check(`Bearer ${rv}`, "/kbs/v0/reference-value?x=1"), /may not call/);
  });
}

test("JWKS providers select keys by kid and check issuer and audience", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
  const auth = createAdminAuthorizer({
    mode: "AuthenticatedAuthorization",
    identityProviders: [{ jwks: { keys: [jwk] }, issuer: "idp", audience: "KBS" }],
    acls,
  });
  const sign = (claims: Record<string, unknown>, kid = "k1") =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid })
      .setExpirationTime("5m")
      .sign(privateKey);
  await auth.check(
    `Bearer ${await sign({ role: "admin", iss: "idp", aud: ["KBS"] })}`,
    "/kbs/v0/resource-policy",
  );
  await assert.rejects(
    auth.check(`Bearer ${await sign({ role: "admin", iss: "other", aud: "KBS" })}`, "/kbs/v0/x"),
    /iss/,
  );
  await assert.rejects(
    auth.check(`Bearer ${await sign({ role: "admin", iss: "idp", aud: "nope" })}`, "/kbs/v0/x"),
    /aud/,
  );
  await assert.rejects(
    auth.check(
      `Bearer ${await sign({ role: "admin", iss: "idp", aud: "KBS" }, "k2")}`,
      "/kbs/v0/x",
    ),
    /kid/,
  );
  await assert.rejects(
    auth.check(`Bearer ${await sign({ iss: "idp", aud: "KBS" })}`, "/kbs/v0/x"),
    /role/,
  );
});

test("bad configurations fail at startup; DenyAll denies", async () => {
  const { publicKey } = generateKeyPairSync("ed25519");
  assert.throws(
    () =>
      createAdminAuthorizer({ mode: "AuthenticatedAuthorization", identityProviders: [], acls }),
    { code: "ERR_KBS_CONFIG" },
  );
  assert.throws(
    () =>
      createAdminAuthorizer({
        mode: "AuthenticatedAuthorization",
        identityProviders: [{ publicKeys: [publicKey] }],
        acls: [{ role: "a", allowedEndpoints: ".*" }],
      }),
    { code: "ERR_KBS_CONFIG" },
  );
  await assert.rejects(
    createAdminAuthorizer({ mode: "DenyAll" }).check("Bearer x", "/kbs/v0/x"),
    /DenyAll/,
  );
});
