/**
 * The certificates a one-node test cluster needs, made fresh for each cluster (ECDSA P-256,
 * valid one day): a CA, the API server's serving certificate, client certificates for the admin,
 * the kubelet and the controller manager (Kubernetes takes identity from CN and groups from O),
 * the kubelet's serving certificate, and the service-account signing key pair.
 */
import { webcrypto } from "node:crypto";
import { x509 } from "../../src/crypto/x509.js";

type KeyPair = webcrypto.CryptoKeyPair;
const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A certificate and its key, PEM. */
export interface CertPair {
  certPem: string;
  keyPem: string;
}

/** Everything the cluster's processes read. */
export interface ClusterPki {
  caPem: string;
  apiserver: CertPair;
  admin: CertPair;
  kubelet: CertPair;
  kubeletServing: CertPair;
  /** The API server's client certificate towards kubelets (logs, exec). */
  apiserverKubeletClient: CertPair;
  controllerManager: CertPair;
  /** Service-account token signing key (private) and verification key (public), PEM. */
  serviceAccount: { privatePem: string; publicPem: string };
}

async function keyPem(k: KeyPair): Promise<string> {
  return x509.PemConverter.encode(
    await webcrypto.subtle.exportKey("pkcs8", k.privateKey),
    "PRIVATE KEY",
  );
}

/** Makes a fresh PKI for a cluster whose API server answers on `ips` and whose node is `nodeName`. */
export async function makeClusterPki(nodeName: string, ips: string[]): Promise<ClusterPki> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as KeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=coco-ts test cluster CA",
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  let serial = 2;
  const leaf = async (
    subject: string,
    usage: "server" | "client",
    san: { type: "dns" | "ip"; value: string }[] = [],
  ): Promise<CertPair> => {
    const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as KeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: (serial++).toString(16).padStart(2, "0"),
      subject,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
        ]),
        ...(san.length > 0 ? [new x509.SubjectAlternativeNameExtension(san)] : []),
      ],
    });
    return { certPem: cert.toString("pem"), keyPem: await keyPem(keys) };
  };
  const ipSans = ips.map((value) => ({ type: "ip" as const, value }));
  const sa = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as KeyPair;
  return {
    caPem: ca.toString("pem"),
    apiserver: await leaf("CN=kube-apiserver", "server", [
      { type: "dns", value: "localhost" },
      { type: "dns", value: "kubernetes" },
      { type: "dns", value: "kubernetes.default.svc" },
      ...ipSans,
    ]),
    admin: await leaf("CN=coco-admin, O=system:masters", "client"),
    kubelet: await leaf(`CN=system:node:${nodeName}, O=system:nodes`, "client"),
    kubeletServing: await leaf(`CN=${nodeName}`, "server", [
      { type: "dns", value: nodeName },
      { type: "ip", value: "127.0.0.1" },
    ]),
    apiserverKubeletClient: await leaf(
      "CN=kube-apiserver-kubelet-client, O=system:masters",
      "client",
    ),
    controllerManager: await leaf("CN=system:kube-controller-manager", "client"),
    serviceAccount: {
      privatePem: await keyPem(sa),
      publicPem: x509.PemConverter.encode(
        await webcrypto.subtle.exportKey("spki", sa.publicKey),
        "PUBLIC KEY",
      ),
    },
  };
}
