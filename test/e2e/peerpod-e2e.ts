/**
 * Peer pods end to end, shared by the process and libvirt providers: `coco run --runtime-class
 * coco-remote` against a real `coco peerpod-adaptor` process, our Trustee, a real registry and
 * real runc in the pod "VM". One pod carries an encrypted image and a sealed secret (pulled,
 * decrypted and unsealed in the VM), `coco exec` is refused by its policy, the adaptor is killed
 * and restarted mid-pod (the pod keeps working, then the pod is removed while the adaptor is
 * down and no VM is left), and altered user-data gets no key.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { createTlsCa, issueTlsCertificate } from "../../src/crypto/tls-ca.js";
import { type GenerateOptions, generatePolicy } from "../../src/host/genpolicy/generate.js";
import { guestConfigs } from "../../src/host/genpolicy/guest-config.js";
import type { Provider } from "../../src/host/peerpod/index.js";
import { fetchImageInfo } from "../../src/host/runtime/image-config.js";
import { parsePod } from "../../src/host/runtime/pod.js";
import { podInitData } from "../../src/host/runtime/run.js";
import { encodeInitDataAnnotation } from "../../src/protocol/agent/index.js";
import {
  APF_CONFIG_PATH,
  buildApfConfig,
  buildCloudConfig,
  USER_DATA_INITDATA_PATH,
} from "../../src/protocol/peerpod/index.js";
import { pushBusyboxImage } from "../helpers/busybox-image.js";
import { cleanUpOnExit } from "../helpers/cleanup.js";
import { type AdaptorProcess, startAdaptorProcess } from "../helpers/peerpod.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { cocoCli, startTrusteeProcess, type TrusteeProcess } from "../helpers/trustee-process.js";

const exec = promisify(execFile);
const SECRET = "s3cr3t-of-a-peer-pod";

/** What one provider's run of the suite needs. */
export interface PeerPodE2e {
  provider: string;
  /** Why it cannot run here, or false. */
  skip: () => Promise<string | false>;
  /** Extra adaptor arguments (and the environment it needs, set up under `dir`). */
  adaptorArgs: (dir: string) => Promise<string[]>;
  /** The same provider the adaptor uses, for the tamper test and to count what is left. */
  makeProvider: (dir: string) => Provider;
  /** Extra check that nothing of a deleted VM remains (domains, volumes). */
  assertNothingLeft?: (dir: string) => Promise<void>;
  /**
   * Checks, once the pod runs, that its VM exposes nothing but the forwarder (a real VM has its
   * own network; the process provider's "VM" shares the host's).
   */
  assertVmListeners?: () => Promise<void>;
  /** How long one pod may take (a TCG VM boot is slow). */
  podTimeoutMs: number;
  /** Stops whatever adaptorArgs started (libvirtd). */
  teardown?: () => Promise<void>;
}

export function peerPodEndToEnd(o: PeerPodE2e): void {
  describe(`peer pods end to end: ${o.provider} provider`, async () => {
    const skip = await o.skip();
    const dir = mkdtempSync(join(tmpdir(), `coco-pp-e2e-${o.provider}-`));
    const reap = cleanUpOnExit(dir);
    let registry: TestRegistry | undefined;
    let trustee: TrusteeProcess | undefined;
    let adaptor: AdaptorProcess | undefined;
    let enc = "";
    let sealed = "";
    const env = () => ({
      ...process.env,
      COCO_STATE_DIR: join(dir, "state"),
      COCO_PEERPOD_SOCKET: adaptor?.socket ?? "",
    });
    const coco = (args: string[]) =>
      exec(process.execPath, [cocoCli, ...args], {
        env: env(),
        timeout: o.podTimeoutMs,
        maxBuffer: 8 << 20,
      });

    const podYaml = (name: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: coco-remote
  containers:
  - name: app
    image: ${enc}
    command: ["/bin/sh", "-c", "echo the secret is $SECRET; echo kernel $(uname -r); while true; do echo tick; sleep 1; done"]
    env:
    - name: SECRET
      value: ${sealed}
`;
    const generate = async (name: string, g: GenerateOptions = {}) => {
      const yaml = podYaml(name);
      const pod = parsePod(yaml);
      const images = new Map([[enc, await fetchImageInfo(enc)]]);
      const files = guestConfigs({ trustee: trustee!.url, insecureRegistries: [registry!.host] });
      const gen = generatePolicy(yaml, pod, images, {
        allowLogs: true,
        ...g,
        initDataFiles: files,
      });
      const toml = podInitData(parsePod(gen.yaml))!;
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, gen.yaml);
      return { file, toml, digest: createHash("sha256").update(toml).digest("base64") };
    };

    before(async () => {
      if (skip) return;
      registry = await startRegistry("plain");
      const image = (await pushBusyboxImage(registry.host)).tagged;
      trustee = await startTrusteeProcess(dir);
      sealed = await trustee.sealSecret("default/app/secret", SECRET);
      enc = `${registry.host}/coco/busybox-enc:pp`;
      await trustee.coco([
        "image",
        "encrypt",
        `docker://${image}`,
        `docker://${enc}`,
        "--kbs-key",
        "kbs:///default/image-key/1",
        "--kbs-url",
        trustee.url,
        "--kbs-admin-token-file",
        trustee.adminTokenFile,
        "--src-tls-verify",
        "false",
        "--dest-tls-verify",
        "false",
      ]);
      adaptor = await startAdaptorProcess(dir, o.provider, await o.adaptorArgs(dir));
    });

    after(async () => {
      await adaptor?.stop();
      await trustee?.stop();
      await registry?.stop();
      await o.teardown?.();
      reap();
    });

    test("coco run --runtime-class coco-remote: encrypted image pulled and sealed secret unsealed in the VM, exec refused by policy; the adaptor killed mid-pod re-attaches; the pod removed while it is down leaves no VM", {
      skip,
      timeout: o.podTimeoutMs * 3,
    }, async () => {
      const good = await generate("pp-app");
      await trustee!.pinInitData(good.digest);
      await coco(["run", "--runtime-class", "coco-remote", "-d", good.file]);
      // `coco logs` follows the output (each byte is read once): read until `until` shows.
      const logs = (until: RegExp) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, [cocoCli, "logs", "pp-app"], { env: env() });
          let out = "";
          const t = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`coco logs did not show ${until}: ${out}`));
          }, 60_000);
          child.stdout.on("data", (d) => {
            out += d;
            if (until.test(out)) {
              clearTimeout(t);
              child.kill("SIGKILL");
              resolve(out);
            }
          });
          child.on("exit", () => {
            clearTimeout(t);
            if (!until.test(out)) reject(new Error(`coco logs ended without ${until}: ${out}`));
          });
        });
      const out = await logs(/tick/);
      assert.match(out, new RegExp(`the secret is ${SECRET}`));
      await o.assertVmListeners?.();
      const refused = async () =>
        assert.rejects(
          coco(["exec", "pp-app", "--", "/bin/cat", "/proc/self/environ"]),
          (e: { stderr?: string }) => {
            assert.match(e.stderr ?? "", /ExecProcessRequest is blocked by policy/);
            return true;
          },
        );
      await refused();

      // The adaptor dies; restarted, its garbage collection re-attaches the live pod's VM.
      await adaptor!.kill();
      await adaptor!.restart();
      assert.match(adaptor!.output(), /re-attached/);
      assert.match(await logs(/tick/), /tick/);
      await refused();

      // It dies again and the pod is removed meanwhile: the restart deletes the VM.
      await adaptor!.kill();
      const rm = await coco(["rm", "pp-app"]);
      assert.match(rm.stderr, /adaptor did not answer/);
      await adaptor!.restart();
      assert.match(adaptor!.output(), /deleted instance .*owner .* is gone/);
      assert.deepEqual(await o.makeProvider(dir).list({}), [], "no VM is left");
      await o.assertNothingLeft?.(dir);
    });

    test("init-data altered on its way to the VM: the host's honest launch field gets no key from Trustee", {
      skip,
      timeout: o.podTimeoutMs,
    }, async () => {
      const good = await generate("pp-altered");
      await trustee!.pinInitData(good.digest);
      const altered = await generate("pp-altered", { allowExec: [["/bin/sh"]] });
      assert.notEqual(altered.digest, good.digest);
      await assert.rejects(
        coco(["run", "--runtime-class", "coco-remote", altered.file]),
        (e: { stderr?: string }) => {
          assert.match(e.stderr ?? "", /image pull of .* failed/);
          assert.doesNotMatch(e.stderr ?? "", new RegExp(SECRET));
          return true;
        },
      );
      await coco(["rm", "pp-altered"]).catch(() => {});
      assert.deepEqual(await o.makeProvider(dir).list({}), [], "no VM is left");
    });

    test("user-data altered after the adaptor measured it: the VM's attestation agent refuses to start, so nothing gets a key", {
      skip,
      timeout: o.podTimeoutMs,
    }, async () => {
      const good = await generate("pp-tamper");
      const altered = await generate("pp-tamper", { allowExec: [["/bin/sh"]] });
      const provider = o.makeProvider(dir);
      const serverCa = await createTlsCa("test servers");
      const clientCa = await createTlsCa("test clients");
      const cert = await issueTlsCertificate(serverCa, { server: ["pp-tamper"] });
      const userData = buildCloudConfig([
        {
          path: APF_CONFIG_PATH,
          content: buildApfConfig({
            podNamespace: "default",
            podName: "pp-tamper",
            tlsServerKey: cert.keyPem,
            tlsServerCert: cert.certPem,
            tlsClientCa: clientCa.certPem,
          }),
        },
        // What the VM receives: the altered init-data...
        { path: USER_DATA_INITDATA_PATH, content: encodeInitDataAnnotation(altered.toml) },
      ]);
      const inst = await provider.create({
        name: "pp-tamper",
        sandboxId: "tamper",
        podName: "pp-tamper",
        podNamespace: "default",
        instanceType: "default",
        vcpus: 2,
        memoryMiB: 2048,
        image: "default",
        userData,
        // ...while the launch field holds the digest the adaptor measured.
        launchField: good.digest,
        insecureRegistries: [registry!.host],
        forwardPorts: [Number(new URL(trustee!.url).port), Number(registry!.host.split(":")[1])],
        tags: { "coco-peerpod-adaptor": "tamper-test" },
      });
      try {
        await provider.start(inst.id);
        let con = "";
        const deadline = Date.now() + o.podTimeoutMs;
        while (Date.now() < deadline && !/ERR_AA_INITDATA_MISMATCH|forwarder listening/.test(con)) {
          await new Promise((r) => setTimeout(r, 1000));
          con = provider.console(inst.id);
        }
        assert.match(con, /ERR_AA_INITDATA_MISMATCH/);
        assert.doesNotMatch(con, /forwarder listening/, "the VM never served its agent");
      } finally {
        await provider.delete(inst.id);
      }
      mkdirSync(join(dir, "done"), { recursive: true });
    });
  });
}
