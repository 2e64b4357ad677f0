import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { makeTestTls } from "../../../test/helpers/tls.js";
import { exportJWK, SignJWT } from "../../crypto/jose.js";
import { generateTeeKeyPair } from "../../crypto/jwe.js";
import { createEarBroker } from "../as/token/ear-broker.js";
import { createTokenVerifier } from "./token-verifier.js";
import { parseCertBundle } from "./x5c.js";

const dir = mkdtempSync(join(tmpdir(), "coco-x5c-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const { publicJwk } = generateTeeKeyPair();
const submods = {
  cpu0: {
    "ear.status": "affirming" as const,
    "ear.veraison.annotated-evidence": { runtime_data_claims: { "tee-pubkey": publicJwk } },
  },
};

async function signerWithChain(name: string) {
  const pki = await makeTestTls();
  writeFileSync(join(dir, `${name}.key`), pki.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, `${name}.crt`), pki.certPem);
  const broker = createEarBroker({
    signerKeyPath: join(dir, `${name}.key`),
    signerCertPath: join(dir, `${name}.crt`),
  });
  return { broker, ca: parseCertBundle(pki.caPem) };
}

test("a token whose header jwk chains to a trusted certificate verifies", async () => {
  const { broker, ca } = await signerWithChain("a");
  const { token } = await broker.sign(submods);
  const v = createTokenVerifier({ trustedCerts: ca });
  assert.deepEqual((await v.verify(token)).teePubkey, publicJwk);
});

test("refuses chains to another CA, a leaf that is not the header key, and a missing x5c", async () => {
  const a = await signerWithChain("b");
  const other = await signerWithChain("c");
  const { token } = await a.broker.sign(submods);
  await assert.rejects(
    createTokenVerifier({ trustedCerts: other.ca }).verify(token),
    /does not reach a trusted certificate|cannot be built/,
  );

  // Header jwk of a fresh key, x5c of the endorsed leaf.
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...(await exportJWK(publicKey)), alg: "ES256", x5c: a.broker.jwk.x5c };
  const swapped = await new SignJWT({ submods })
    .setProtectedHeader({ alg: "ES256", jwk: jwk as never })
    .setExpirationTime("5m")
    .sign(privateKey);
  await assert.rejects(
    createTokenVerifier({ trustedCerts: a.ca }).verify(swapped),
    /leaf key is not the header jwk/,
  );

  const bare = { ...(await exportJWK(publicKey)), alg: "ES256" };
  const noX5c = await new SignJWT({ submods })
    .setProtectedHeader({ alg: "ES256", jwk: bare as never })
    .setExpirationTime("5m")
    .sign(privateKey);
  await assert.rejects(createTokenVerifier({ trustedCerts: a.ca }).verify(noX5c), /no x5c/);

  const garbage = { ...bare, x5c: ["bm90IGEgY2VydA"] };
  const badCert = await new SignJWT({ submods })
    .setProtectedHeader({ alg: "ES256", jwk: garbage as never })
    .setExpirationTime("5m")
    .sign(privateKey);
  await assert.rejects(
    createTokenVerifier({ trustedCerts: a.ca }).verify(badCert),
    /does not parse/,
  );
});
