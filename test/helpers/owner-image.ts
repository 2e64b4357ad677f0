/**
 * The data owner's image steps, as a user runs them with the CLI: encrypt an image with a key that
 * Trustee generates and keeps (`coco image encrypt`), sign the result with a fresh cosign key
 * (`coco image sign`), and put the public key and a signature policy requiring it into Trustee.
 * Shared by the demos, the benches and the end-to-end tests that run an encrypted, signed image.
 */
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TrusteeProcess } from "./trustee-process.js";

export interface OwnerImageOptions {
  /** The plain image (`host/repo:tag`) to encrypt. */
  source: string;
  /** Where the encrypted, signed image goes (`host/repo:tag`). */
  target: string;
  /** A private folder for the cosign key (written mode 0600). */
  work: string;
  /** The registry scope the signature policy requires signatures for (`host` or `host/repo`). */
  scope: string;
  /** The tag of the Trustee resources `image-key/`, `cosign-key/`, `security-policy/` (default app). */
  name?: string;
}

/** Encrypts, signs and publishes the policy; answers the signature policy's KBS URI. */
export async function publishOwnerImage(
  trustee: TrusteeProcess,
  o: OwnerImageOptions,
): Promise<{ policyUri: string }> {
  const name = o.name ?? "app";
  await trustee.coco([
    "image",
    "encrypt",
    "--kbs-key",
    `kbs:///default/image-key/${name}`,
    "--kbs-url",
    trustee.url,
    "--kbs-admin-token-file",
    trustee.adminTokenFile,
    "--src-tls-verify=false",
    "--dest-tls-verify=false",
    `docker://${o.source}`,
    `docker://${o.target}`,
  ]);
  const pem = join(o.work, "cosign.pem");
  const cosign = generateKeyPairSync("ec", { namedCurve: "P-256" });
  writeFileSync(pem, cosign.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  await trustee.coco(["image", "sign", "--key", pem, "--tls-verify=false", o.target]);
  await trustee.putResource(
    `default/cosign-key/${name}`,
    cosign.publicKey.export({ type: "spki", format: "pem" }) as string,
  );
  await trustee.putResource(
    `default/security-policy/${name}`,
    JSON.stringify({
      default: [{ type: "reject" }],
      transports: {
        docker: {
          [o.scope]: [{ type: "sigstoreSigned", keyPath: `kbs:///default/cosign-key/${name}` }],
        },
      },
    }),
  );
  return { policyUri: `kbs:///default/security-policy/${name}` };
}
