/**
 * A small certificate authority for mutual TLS between host components (the peer-pods adaptor
 * and the forwarder in each pod VM): ECDSA P-256 keys from node:crypto, certificates from
 * `@peculiar/x509`. It authenticates transport endpoints; it never protects workload secrets.
 */
import { createPrivateKey, KeyObject, randomBytes, webcrypto } from "node:crypto";
import { x509 } from "./x509.js";

/** A certificate and its private key, both PEM. */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

/** What a certificate is for: a TLS server (with DNS names) or a TLS client. */
export type TlsUsage = { server: string[] } | { client: string };

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 86_400_000;

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
}

async function pemOf(key: webcrypto.CryptoKey): Promise<string> {
  return KeyObject.from(key).export({ format: "pem", type: "pkcs8" }).toString();
}

const serial = () =>
  randomBytes(16)
    .toString("hex")
    .replace(/^[89a-f]/, "1");

/** Creates a self-signed CA named `name`, valid for `days` (default 3650). */
export async function createTlsCa(name: string, days = 3650): Promise<PemPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + days * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await pemOf(keys.privateKey) };
}

/** Issues a leaf certificate for `usage` from `ca`, valid for `days` (default 825). */
export async function issueTlsCertificate(
  ca: PemPair,
  usage: TlsUsage,
  days = 825,
): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = createPrivateKey(ca.keyPem).toCryptoKey(ALG, false, [
    "sign",
  ]) as webcrypto.CryptoKey;
  const keys = await newKeys();
  const isServer = "server" in usage;
  const cn = isServer ? (usage.server[0] ?? "server") : usage.client;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(
      [isServer ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      true,
    ),
  ];
  if (isServer) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        usage.server.map((d) => ({ type: "dns", value: d })),
      ),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${cn}`,
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + days * DAY),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALG,
    extensions,
  });
  return { certPem: cert.toString("pem"), keyPem: await pemOf(keys.privateKey) };
}
