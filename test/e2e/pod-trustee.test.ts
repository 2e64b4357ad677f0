/**
 * Confidential pods end to end over loopback: our Trustee (`coco trustee`, a real process), a
 * real registry, the process sandbox with real runc, and inside it the AA and CDH started from
 * the pod's init-data. The data owner's resource policy releases the secret only to the pod
 * whose init-data (and so agent policy) digest it expects.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type GenerateOptions, generatePolicy } from "../../src/host/genpolicy/generate.js";
import { guestConfigs } from "../../src/host/genpolicy/guest-config.js";
import { fetchImageInfo } from "../../src/host/runtime/image-config.js";
import { parsePod } from "../../src/host/runtime/pod.js";
import { podInitData, runPod } from "../../src/host/runtime/run.js";
import { createProcessSandboxBackend } from "../../src/host/sandbox/process.js";
import { sealSecret } from "../../src/protocol/sealed-secret/index.js";
import { SAMPLE_LAUNCH_FIELD_ENV } from "../../src/tee/sample/index.js";
import { pushBusyboxImage } from "../helpers/busybox-image.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { cocoCli, startTrusteeProcess, type TrusteeProcess } from "../helpers/trustee-process.js";

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pod-e2e-"));
const backend = createProcessSandboxBackend();
let trustee: TrusteeProcess | undefined;
let registry: TestRegistry | undefined;
let kbsUrl = "";
let image = "";
let sealed = "";
let skip: string | false = false;
const SECRET = "s3cr3t-from-trustee";

const podYaml = (name: string, img = image) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: coco-dev
  containers:
  - name: app
    image: ${img}
    command: ["/bin/sh", "-c", "echo the secret is $SECRET"]
    env:
    - name: SECRET
      value: ${sealed}
`;

async function generate(yaml: string, o: GenerateOptions = {}) {
  const pod = parsePod(yaml);
  const img = pod.containers[0]!.image;
  const images = new Map([[img, await fetchImageInfo(img)]]);
  const files = guestConfigs({ trustee: kbsUrl, insecureRegistries: [registry!.host] });
  const gen = generatePolicy(yaml, pod, images, { ...o, initDataFiles: files });
  const digest = createHash("sha256")
    .update(podInitData(parsePod(gen.yaml))!)
    .digest("base64");
  return { yaml: gen.yaml, digest };
}

async function runIt(yaml: string, on = backend) {
  const out: string[] = [];
  const events: string[] = [];
  const r = await runPod(parsePod(yaml), {
    backend: on,
    stateRoot: join(dir, "state"),
    onOutput: (_c, _s, chunk) => out.push(Buffer.from(chunk).toString()),
    onEvent: (e) => {
      events.push(e);
      if (process.env.COCO_DEBUG) console.error(e);
    },
  });
  return { r, out: out.join(""), events };
}

before(async () => {
  skip = await backend.unavailable();
  if (skip) return;
  registry = await startRegistry("plain");
  image = (await pushBusyboxImage(registry.host)).tagged;
  trustee = await startTrusteeProcess(dir);
  kbsUrl = trustee.url;
  const signing = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    format: "jwk",
  });
  const put = (path: string, data: string) => trustee!.putResource(path, data);
  await put(
    "default/sealing-key/1",
    JSON.stringify({ kty: "EC", crv: "P-256", x: signing.x, y: signing.y }),
  );
  await put("default/app/secret", SECRET);
  sealed = await sealSecret(
    {
      version: "0.1.0",
      type: "vault",
      name: "kbs:///default/app/secret",
      provider: "kbs",
      provider_settings: {},
      annotations: {},
    },
    signing,
    "kbs:///default/sealing-key/1",
  );
});

after(async () => {
  await trustee?.stop();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("confidential pod against our Trustee", () => {
  test("the pod runs and its container prints the secret unsealed inside the sandbox", async (t) => {
    if (skip) return t.skip(skip);
    const { yaml, digest } = await generate(podYaml("sealed-ok"), { allowLogs: true });
    assert.ok(!yaml.includes(SECRET), "the host-side manifest never holds the plaintext");
    await trustee!.pinInitData(digest);
    const { r, out, events } = await runIt(yaml);
    assert.equal(r.exitCode, 0);
    assert.equal(out, `the secret is ${SECRET}\n`);
    // The sandbox put the digest in the sample TEE's launch field and the guest AA bound it.
    assert.ok(
      events.some((e) => /init-data bound to sample/.test(e)),
      events.join("\n"),
    );
  });

  test("a sealed secret volume file is unsealed in the guest before the container starts", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = `apiVersion: v1
kind: Pod
metadata:
  name: sealed-file
spec:
  runtimeClassName: coco-dev
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", "echo file says $(cat /etc/app/token)"]
    volumeMounts:
    - name: creds
      mountPath: /etc/app
  volumes:
  - name: creds
    secret:
      secretName: creds
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  token: ${Buffer.from(sealed).toString("base64")}
`;
    const { yaml: gen, digest } = await generate(yaml, { allowLogs: true });
    await trustee!.pinInitData(digest);
    const { r, out } = await runIt(gen);
    assert.equal(r.exitCode, 0);
    assert.equal(out, `file says ${SECRET}\n`);
  });

  test("an encrypted image is decrypted in the guest with a key only the expected pod gets", async (t) => {
    if (skip) return t.skip(skip);
    const enc = `${registry!.host}/coco/busybox-enc:v1`;
    await trustee!.coco([
      "image",
      "encrypt",
      `docker://${image}`,
      `docker://${enc}`,
      "--kbs-key",
      "kbs:///default/image-key/1",
      "--kbs-url",
      kbsUrl,
      "--kbs-admin-token-file",
      trustee!.adminTokenFile,
      "--src-tls-verify",
      "false",
      "--dest-tls-verify",
      "false",
    ]);
    const { yaml, digest } = await generate(podYaml("encrypted", enc), { allowLogs: true });
    await trustee!.pinInitData(digest);
    const { r, out } = await runIt(yaml);
    assert.equal(r.exitCode, 0);
    assert.equal(out, `the secret is ${SECRET}\n`);
    // Same pod, but Trustee expects another init-data: no layer key, no container.
    await trustee!.pinInitData(Buffer.alloc(32).toString("base64"));
    await assert.rejects(
      runIt(yaml),
      (e: { code?: string; message?: string }) =>
        e.code === "ERR_AGENT_CALL" && /image pull of .* failed/.test(e.message ?? ""),
    );
  });

  test("a pod whose init-data was altered, launched honestly, attests with another digest and the pinning policy gives no key", async (t) => {
    if (skip) return t.skip(skip);
    const good = await generate(podYaml("sealed-altered"), { allowLogs: true });
    await trustee!.pinInitData(good.digest);
    // The host swaps in a looser policy (exec allowed): valid init-data, different digest.
    const altered = await generate(podYaml("sealed-altered"), {
      allowLogs: true,
      allowExec: [["/bin/sh"]],
    });
    assert.notEqual(altered.digest, good.digest);
    await assert.rejects(
      runIt(altered.yaml),
      (e: { code?: string; message?: string }) =>
        e.code === "ERR_AGENT_CALL" &&
        /unsealing env SECRET failed.*PolicyDeny/.test(e.message ?? ""),
    );
  });

  test("a host that claims the expected init-data in the launch field but attaches altered init-data: the guest AA refuses to start", async (t) => {
    if (skip) return t.skip(skip);
    const good = await generate(podYaml("sealed-lying-host"), { allowLogs: true });
    await trustee!.pinInitData(good.digest);
    const altered = await generate(podYaml("sealed-lying-host"), {
      allowLogs: true,
      allowExec: [["/bin/sh"]],
    });
    const lying = createProcessSandboxBackend({
      sampleLaunchField: new Uint8Array(Buffer.from(good.digest, "base64")),
    });
    await assert.rejects(
      runIt(altered.yaml, lying),
      (e: { code?: string; message?: string }) =>
        e.code === "ERR_SANDBOX_START" && /ERR_AA_INITDATA_MISMATCH/.test(e.message ?? ""),
    );
  });

  test("Trustee refuses at attestation evidence whose launch field differs from the init-data sent, even when the policy pin matches", async (t) => {
    if (skip) return t.skip(skip);
    const good = await generate(podYaml("kbs-binding"), { allowLogs: true });
    const altered = await generate(podYaml("kbs-binding"), {
      allowLogs: true,
      allowExec: [["/bin/sh"]],
    });
    await trustee!.pinInitData(good.digest);
    const goodToml = Buffer.from(podInitData(parsePod(good.yaml))!).toString("utf8");
    // The real `coco kbs-client` process, its sample attester's launch field set as the
    // sandbox sets it.
    const getSecret = (field: string, initData?: string) =>
      exec(
        process.execPath,
        [
          cocoCli,
          "kbs-client",
          "--url",
          kbsUrl,
          "get-resource",
          "--path",
          "default/app/secret",
          ...(initData === undefined ? [] : ["--init-data", initData]),
        ],
        { env: { ...process.env, [SAMPLE_LAUNCH_FIELD_ENV]: field } },
      );
    // Control: field and init-data agree and the pin matches, so the secret is released.
    const ok = await getSecret(good.digest, goodToml);
    assert.equal(Buffer.from(ok.stdout.trim(), "base64").toString(), SECRET);
    // The TEE measured the altered init-data, the client sends the expected one: refused by the
    // binding although the policy pin alone would release the secret.
    await assert.rejects(getSecret(altered.digest, goodToml), (e: { stderr?: string }) => {
      if (process.env.COCO_DEBUG) console.error(e.stderr);
      assert.match(e.stderr ?? "", /init.data/i);
      assert.doesNotMatch(e.stderr ?? "", new RegExp(SECRET));
      return true;
    });
    // A launch field with the init-data withheld is refused too.
    await assert.rejects(getSecret(good.digest), (e: { stderr?: string }) => {
      if (process.env.COCO_DEBUG) console.error(e.stderr);
      assert.match(e.stderr ?? "", /init.data/i);
      return true;
    });
  });
});
