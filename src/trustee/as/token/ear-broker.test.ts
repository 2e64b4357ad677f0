import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { test } from "node:test";
import { decodeProtectedHeader, jwtVerify } from "../../../crypto/jose.js";
import { createEarBroker } from "./ear-broker.js";

test("jose verifies the EAR token with the header JWK; header and claims as upstream", async () => {
  const broker = createEarBroker({ durationMin: 2 });
  const now = new Date();
  const { token, claims } = await broker.sign({ cpu0: { "ear.status": "affirming" } }, now);
  const header = decodeProtectedHeader(token);
  assert.deepEqual(Object.keys(header), ["typ", "alg", "jwk"]);
  assert.equal(header.alg, "ES256");
  assert.deepEqual(header.jwk, broker.jwk);
  const key = createPublicKey({ key: header.jwk as never, format: "jwk" });
  const { payload } = await jwtVerify(token, key, {
    algorithms: ["ES256"],
    requiredClaims: ["exp"],
  });
  assert.deepEqual(payload, claims);
  assert.equal(payload.exp, Math.floor(now.getTime() / 1000) + 120);
  const other = createEarBroker();
  await assert.rejects(jwtVerify(token, other.publicKey, { algorithms: ["ES256"] }));
});
