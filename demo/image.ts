/**
 * Confidential image demo: the owner encrypts an image with a key generated and stored in
 * Trustee (`coco image encrypt --kbs-key`) and signs it with cosign's format
 * (`coco image sign --key`); Trustee also holds the signature policy and the verification key.
 * In the guest, the image pull service fetches policy and keys through CDH → AA → Trustee
 * (after attestation), verifies the signature, decrypts and unpacks the rootfs. An unsigned
 * copy of the same image is refused. Trustee, AA, CDH and the registry are real processes.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  connectCdh,
  createImagePullService,
  parseImagePullConfig,
} from "../src/guest/cdh/image/index.js";
import { buildTar, writeTestImage } from "../src/oci/testing.js";
import { startRegistry } from "../test/helpers/registry.js";
import { startGuestStack } from "./guest-stack.js";

/** What the demo showed. */
export interface ImageDemoResult {
  manifestDigest: string;
  message: string;
  refusedUnsigned: string;
}

/** Runs the image story; every line goes to `log`. Throws if any step fails. */
export async function demoImage(log: (line: string) => void): Promise<ImageDemoResult> {
  const stack = await startGuestStack({ log: (l) => log(`  ${l}`) });
  // A private registry: the owner pushes with an auth.json, the guest gets the same auth.json
  // from Trustee (kbs:///default/credential/registry), so credentials never touch the host.
  const reg = await startRegistry("basic-auth");
  const work = mkdtempSync(join(stack.dir, "image-"));
  const cdh = connectCdh(stack.cdhSockets.cdh as string);
  try {
    log(`Trustee at ${stack.kbsUrl}, registry at ${reg.url}; AA and CDH run as separate processes`);
    // The owner builds a small app image.
    const layout = join(work, "app");
    writeTestImage(
      layout,
      "v1",
      [
        {
          tar: await buildTar([
            { name: "app/", type: "directory" },
            { name: "app/message.txt", content: "hello from a confidential image\n" },
          ]),
        },
        {
          tar: await buildTar([
            { name: "app/model.bin", content: Buffer.alloc(256 * 1024, 7), mode: 0o600 },
          ]),
        },
      ],
      { Entrypoint: ["/app/run"] },
    );
    const image = `${reg.host}/demo/app`;
    const authJson = JSON.stringify({
      auths: {
        [reg.host]: { auth: Buffer.from(`${reg.username}:${reg.password}`).toString("base64") },
      },
    });
    const authFile = join(work, "auth.json");
    writeFileSync(authFile, authJson, { mode: 0o600 });
    // `coco image encrypt` of the layout to `<image>:<tag>`, its key generated into Trustee.
    const encrypt = async (keyUri: string, tag: string) =>
      JSON.parse(
        await stack.coco([
          "image",
          "encrypt",
          "--kbs-key",
          keyUri,
          "--kbs-url",
          stack.kbsUrl,
          "--kbs-admin-token-file",
          join(stack.dir, "admin.jwt"),
          "--dest-tls-verify=false",
          "--authfile",
          authFile,
          `oci:${layout}:v1`,
          `docker://${image}:${tag}`,
        ]),
      ) as { manifestDigest: string; kid: string };
    const enc = await encrypt("kbs:///default/image-key/app", "encrypted");
    log(
      `owner: encrypted every layer; the key was generated and stored in Trustee as ${enc.kid}; manifest ${enc.manifestDigest}`,
    );
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileSync(join(work, "cosign.pem"), privateKey.export({ type: "pkcs8", format: "pem" }), {
      mode: 0o600,
    });
    await stack.coco([
      "image",
      "sign",
      "--key",
      join(work, "cosign.pem"),
      "--tls-verify=false",
      "--authfile",
      authFile,
      `${image}:encrypted`,
    ]);
    log(`owner: signed ${image}:encrypted (cosign signature attached as sha256-….sig)`);
    await stack.putResource(
      "default/cosign-public-key/app",
      Buffer.from(publicKey.export({ type: "spki", format: "pem" }) as string),
    );
    const policy = {
      default: [{ type: "reject" }],
      transports: {
        docker: {
          [`${reg.host}/demo`]: [
            { type: "sigstoreSigned", keyPath: "kbs:///default/cosign-public-key/app" },
          ],
        },
      },
    };
    await stack.putResource("default/security-policy/app", Buffer.from(JSON.stringify(policy)));
    await stack.putResource("default/credential/registry", Buffer.from(authJson));
    log(
      "owner: stored the signature policy, the cosign public key and the registry auth.json in Trustee",
    );
    // An unsigned copy of the same encrypted image.
    await encrypt("kbs:///default/image-key/unsigned", "unsigned");

    // The guest.
    const service = createImagePullService({
      config: parseImagePullConfig({
        work_dir: join(work, "guest-image"),
        image_security_policy_uri: "kbs:///default/security-policy/app",
        authenticated_registry_credentials_uri: "kbs:///default/credential/registry",
        registry_config: { registry: [{ location: reg.host, insecure: true }] },
      }),
      getResource: (uri) => cdh.getResource(uri),
      unwrapKey: (packet) => cdh.unwrapKey(packet),
      log: (l) => log(`  guest ${l}`),
    });
    const bundle = join(work, "bundle");
    const manifestDigest = await service.pullImage(`${image}:encrypted`, bundle);
    const message = readFileSync(join(bundle, "rootfs/app/message.txt"), "utf8").trim();
    log(
      `guest: policy, cosign key, registry credentials and layer key came from Trustee after attestation; rootfs/app/message.txt = "${message}"`,
    );
    const args = (
      JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as {
        process: { args: string[] };
      }
    ).process.args;
    log(`guest: bundle config.json process.args = ${JSON.stringify(args)}`);
    let refusedUnsigned = "";
    try {
      await service.pullImage(`${image}:unsigned`, join(work, "bundle-unsigned"));
      throw new Error("the unsigned image was accepted");
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== "ERR_OCI_POLICY_DENIED") throw err;
      refusedUnsigned = (err as Error).message;
    }
    log(`guest: the unsigned copy is refused: ${refusedUnsigned.slice(0, 140)}`);
    return { manifestDigest, message, refusedUnsigned };
  } finally {
    cdh.close();
    await reg.stop();
    rmSync(work, { recursive: true, force: true });
    await stack.stop();
  }
}
