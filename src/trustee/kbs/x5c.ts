/**
 * Endorsement of a token's header JWK by its `x5c` chain (kbs/src/token/jwk.rs): the leaf
 * certificate's key must be the JWK, and the chain (built from `x5c` plus the trusted
 * certificates, every signature checked by @peculiar/x509) must reach a certificate from
 * `[attestation_token] trusted_certs_paths`, every certificate valid now.
 */

import type { JWK } from "../../crypto/jose.js";
import { x509 } from "../../crypto/x509.js";

/** Parses every certificate of a PEM bundle. */
export function parseCertBundle(pem: string): x509.X509Certificate[] {
  const out: x509.X509Certificate[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) {
    out.push(new x509.X509Certificate(m[0]));
  }
  return out;
}

function decodeDer(s: string): Uint8Array {
  // Upstream accepts standard or URL-safe base64 in x5c.
  return new Uint8Array(Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}

/** Throws an Error naming the failed step; resolves when `jwk` is endorsed. */
export async function verifyX5cEndorsement(
  jwk: JWK,
  trusted: readonly x509.X509Certificate[],
  now: Date = new Date(),
): Promise<void> {
  const chainIn = jwk.x5c;
  if (!Array.isArray(chainIn) || chainIn.length === 0) throw new Error("header jwk has no x5c");
  if (chainIn.length > 10) throw new Error("x5c is longer than 10 certificates");
  let certs: x509.X509Certificate[];
  try {
    certs = chainIn.map((c) => new x509.X509Certificate(decodeDer(String(c))));
  } catch {
    throw new Error("x5c holds a certificate that does not parse");
  }
  const leaf = certs[0] as x509.X509Certificate;
  const leafKey = (await crypto.subtle.exportKey("jwk", await leaf.publicKey.export())) as JWK;
  const same =
    leafKey.kty === jwk.kty &&
    (jwk.kty === "EC"
      ? leafKey.crv === jwk.crv && leafKey.x === jwk.x && leafKey.y === jwk.y
      : leafKey.n === jwk.n && leafKey.e === jwk.e);
  if (!same) throw new Error("x5c leaf key is not the header jwk");
  let chain: x509.X509Certificate[];
  try {
    chain = [
      ...(await new x509.X509ChainBuilder({ certificates: [...certs.slice(1), ...trusted] }).build(
        leaf,
      )),
    ];
  } catch {
    throw new Error("x5c chain cannot be built");
  }
  const trustedPrints = new Set(
    await Promise.all(
      trusted.map(async (t) => Buffer.from(await t.getThumbprint()).toString("hex")),
    ),
  );
  for (const cert of chain) {
    if (cert.notBefore > now || cert.notAfter < now) {
      throw new Error("a certificate of the x5c chain is outside its validity period");
    }
    if (trustedPrints.has(Buffer.from(await cert.getThumbprint()).toString("hex"))) return;
  }
  throw new Error("x5c chain does not reach a trusted certificate");
}
