import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { exportJWK, SignJWT } from "../../crypto/jose.js";
import { generateTeeKeyPair } from "../../crypto/jwe.js";
import { createEarBroker } from "../as/token/ear-broker.js";
import { createTokenVerifier } from "./token-verifier.js";

const { publicJwk } = generateTeeKeyPair();
const submods = {
  cpu0: {
    "ear.status": "affirming" as const,
    "ear.veraison.annotated-evidence": { runtime_data_claims: { "tee-pubkey": publicJwk } },
  },
};

test("our own tokens verify (twice, the second from the cache) and expire", async () => {
  const broker = createEarBroker({ durationMin: 1 / 60 });
  const v = createTokenVerifier({ ownKeys: [broker.publicKey] });
  const { token } = await broker.sign(submods);
  assert.equal(v.remembered(token), undefined, "nothing is remembered before a verification");
  assert.deepEqual((await v.verify(token)).teePubkey, publicJwk);
  assert.deepEqual((await v.verify(token)).teePubkey, publicJwk);
  // The synchronous lookup serves the same result, for these exact bytes only (a copy of the
  // string is the same bytes; a token one character off is not remembered).
  const copy = Buffer.from(token).toString("latin1");
  assert.deepEqual(v.remembered(copy)?.teePubkey, publicJwk);
  assert.deepEqual(v.remembered(token)?.teePubkey, publicJwk);
  const last = token.at(-1) === "A" ? "B" : "A";
  assert.equal(v.remembered(`${token.slice(0, -1)}${last}`), undefined);
  await new Promise((r) => setTimeout(r, 2100));
  // Expired: neither the lookup nor verify serves it any more, although it was just used.
  assert.equal(v.remembered(token), undefined);
  await assert.rejects(v.verify(token), { code: "ERR_KBS_TOKEN_VERIFIER", message: /expired/ });
  assert.equal(v.remembered(token), undefined);
});

test("a token remembered at issuance is served from the cache, until it expires; others are still checked", async () => {
  const broker = createEarBroker({ durationMin: 1 / 60 });
  const v = createTokenVerifier({ ownKeys: [broker.publicKey] });
  const { token, claims } = await broker.sign(submods);
  v.remember(token);
  const got = await v.verify(token);
  assert.deepEqual(got.claims, JSON.parse(JSON.stringify(claims)));
  assert.deepEqual(got.teePubkey, publicJwk);
  // A token differing in one signature byte was never remembered: jose checks it and refuses.
  const parts = token.split(".");
  const sig = Buffer.from(parts[2] ?? "", "base64url");
  sig[3] = (sig[3] ?? 0) ^ 1;
  const forged = `${parts[0]}.${parts[1]}.${sig.toString("base64url")}`;
  await assert.rejects(v.verify(forged), { message: /signature is invalid/ });
  await new Promise((r) => setTimeout(r, 2100));
  await assert.rejects(v.verify(token), { code: "ERR_KBS_TOKEN_VERIFIER", message: /expired/ });
});

test("foreign header keys need insecure_header_jwk; kid tokens need a trusted JWK set", async () => {
  const other = createEarBroker();
  const { token } = await other.sign(submods);
  const mine = createEarBroker();
  await assert.rejects(
    createTokenVerifier({ ownKeys: [mine.publicKey] }).verify(token),
    /not trusted/,
  );
  const insecure = createTokenVerifier({ ownKeys: [mine.publicKey], insecureHeaderJwk: true });
  assert.deepEqual((await insecure.verify(token)).teePubkey, publicJwk);

  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...(await exportJWK(publicKey)), kid: "as-1", alg: "ES256" };
  const kidToken = await new SignJWT({ submods })
    .setProtectedHeader({ alg: "ES256", kid: "as-1" })
    .setExpirationTime("5m")
    .sign(privateKey);
  const bySet = createTokenVerifier({ trustedJwkSets: [{ keys: [jwk] }] });
  assert.deepEqual((await bySet.verify(kidToken)).teePubkey, publicJwk);
  await assert.rejects(
    createTokenVerifier({ ownKeys: [mine.publicKey] }).verify(kidToken),
    /no trusted JWK set/,
  );
});

test("tokens without exp, without a TEE key, or not JWS at all are refused", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k", alg: "ES256" };
  const v = createTokenVerifier({ trustedJwkSets: [{ keys: [jwk] }] });
  const noExp = await new SignJWT({ submods })
    .setProtectedHeader({ alg: "ES256", kid: "k" })
    .sign(privateKey);
  await assert.rejects(v.verify(noExp), { code: "ERR_KBS_TOKEN_VERIFIER" });
  const noKey = await new SignJWT({ submods: {} })
    .setProtectedHeader({ alg: "ES256", kid: "k" })
    .setExpirationTime("5m")
    .sign(privateKey);
  await assert.rejects(v.verify(noKey), /no tee-pubkey/);
  for (const garbage of ["", "a.b.c", "x".repeat(5000)]) {
    await assert.rejects(v.verify(garbage), { code: "ERR_KBS_TOKEN_VERIFIER" });
  }
  assert.throws(() => createTokenVerifier({}), { code: "ERR_KBS_CONFIG" });
});
