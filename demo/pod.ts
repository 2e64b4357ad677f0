/**
 * Confidential pod demo: the whole story with real processes. Trustee is up; the owner pushes an
 * image encrypted with a Trustee-held key and cosign-signed, seals a secret, and generates the
 * pod's policy (`coco policy generate`), whose init-data digest the owner pins in Trustee. The
 * host runs the pod (`coco run`, process sandbox: development only); inside, the image is
 * verified and decrypted, the sealed env value unsealed, and the container prints only a digest
 * of the secret. The host's `coco exec` is denied by the policy, and a pod whose init-data the
 * host altered gets no key.
 */

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parsePod } from "../src/host/runtime/pod.js";
import { podInitData } from "../src/host/runtime/run.js";
import { pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { publishOwnerImage } from "../test/helpers/owner-image.js";
import { startRegistry } from "../test/helpers/registry.js";
import { cocoCli, startTrusteeProcess } from "../test/helpers/trustee-process.js";

const exec = promisify(execFile);

/** What the demo showed. */
export interface PodDemoResult {
  /** What the container printed (visible because this pod's policy allows log reads). */
  output: string;
  /** sha256 of the secret as the owner computes it: equals the digest the container printed. */
  expectedDigest: string;
  execDenied: string;
  alteredRefused: string;
}

/** Runs the pod story; every line goes to `log`. Throws if any step fails. */
export async function demoPod(log: (line: string) => void): Promise<PodDemoResult> {
  if (process.getuid?.() !== 0) throw new Error("the pod demo needs root (process sandbox, runc)");
  const dir = mkdtempSync(join(tmpdir(), "coco-pod-demo-"));
  const env = { ...process.env, COCO_STATE_DIR: join(dir, "pods") };
  const coco = async (args: string[], ok = true) => {
    try {
      const r = await exec(process.execPath, [cocoCli, ...args], { env, maxBuffer: 8 << 20 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      if (ok) throw new Error(`coco ${args[0]} failed: ${e.stderr ?? err}`);
      return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  };
  const trustee = await startTrusteeProcess(dir);
  const reg = await startRegistry("plain");
  try {
    log(`Trustee at ${trustee.url}; registry at ${reg.url}`);
    // The owner's image: encrypted with a key generated into Trustee, then cosign-signed.
    const plain = await pushBusyboxImage(reg.host, "demo/app", "v1");
    const image = `${reg.host}/demo/app:encrypted`;
    await publishOwnerImage(trustee, {
      source: plain.tagged,
      target: image,
      work: dir,
      scope: `${reg.host}/demo`,
    });
    log(
      `owner: ${image} encrypted (key in Trustee at kbs:///default/image-key/app) and cosign-signed; signature policy in Trustee`,
    );
    // The owner's secret, sealed: the host only ever sees this JWS.
    const secret = `demo-secret-${Date.now()}`;
    const sealed = await trustee.sealSecret(
      "default/app/secret",
      secret,
      "default/sealing-key/app",
    );
    log(`owner: sealed the secret: ${sealed.slice(0, 48)}…`);
    const manifest = join(dir, "pod.yaml");
    writeFileSync(
      manifest,
      `apiVersion: v1
kind: Pod
metadata:
  name: confidential-demo
spec:
  runtimeClassName: coco-dev
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", "echo \\"inside the guest: sha256(SECRET) = $(printf %s \\"$SECRET\\" | sha256sum | cut -d' ' -f1)\\"; sleep 1"]
    env:
    - name: SECRET
      value: ${sealed}
`,
    );
    const gen = join(dir, "pod.gen.yaml");
    const policyArgs = [
      "policy",
      "generate",
      manifest,
      "-o",
      gen,
      "--allow-logs",
      "--trustee",
      trustee.url,
      "--insecure-registry",
      reg.host,
      "--image-policy-uri",
      "kbs:///default/security-policy/app",
    ];
    await coco(policyArgs);
    const digest = createHash("sha256")
      .update(podInitData(parsePod(readFileSync(gen, "utf8")))!)
      .digest("base64");
    await trustee.pinInitData(digest);
    log(
      `owner: coco policy generate → image pinned by digest, exec denied, logs allowed; init-data sha256 ${Buffer.from(digest, "base64").toString("hex").slice(0, 16)}… pinned in Trustee's resource policy`,
    );

    // The host runs it.
    const run = await coco(["run", "--keep", gen]);
    const output = run.stdout.trim();
    const expectedDigest = createHash("sha256").update(secret).digest("hex");
    log(`host: coco run --keep → ${JSON.stringify(output)}`);
    if (!output.endsWith(expectedDigest))
      throw new Error("the container did not print the digest of the unsealed secret");
    if ((readFileSync(gen, "utf8") + run.stdout + run.stderr).includes(secret))
      throw new Error("the secret reached the host");
    log("owner: the digest matches sha256 of the secret; the plaintext never crossed to the host");
    const ex = await coco(
      ["exec", "confidential-demo", "--", "/bin/sh", "-c", "echo $SECRET"],
      false,
    );
    if (ex.code === 0) throw new Error("coco exec was allowed");
    const execDenied = ex.stderr.trim();
    log(`host: coco exec … → ${execDenied}`);
    await coco(["rm", "confidential-demo"]);

    // The host tampers with init-data (a looser policy): it attests with another digest.
    const altered = join(dir, "pod.altered.yaml");
    await coco([
      ...policyArgs.slice(0, 4),
      altered,
      ...policyArgs.slice(5),
      "--allow-exec",
      '["/bin/sh"]',
    ]);
    const bad = await coco(["run", altered], false);
    if (bad.code === 0) throw new Error("the altered pod ran");
    const alteredRefused = bad.stderr.trim().split("\n").pop() ?? "";
    log(`host: the same pod with altered init-data → ${alteredRefused.slice(0, 160)}`);
    return { output, expectedDigest, execDenied, alteredRefused };
  } finally {
    await reg.stop();
    await trustee.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
