/**
 * `npm run bench -- pod-qemu [--runs N]`: one pod, run end to end in the qemu sandbox (a real VM)
 * and, as the peer measured in the same run, in the process sandbox. Two pods: `plain` (image
 * pulled by the agent) and `sealed` (AA + CDH from init-data, attestation to our Trustee, a sealed
 * env value unsealed in the guest). Reported per phase: sandbox ready (VM boot), CreateContainer
 * (pull, + attestation and unseal for `sealed`), StartContainer, total. Attestation happens lazily
 * at the first sealed value, so `attestAndUnsealMs` = sealed minus plain CreateContainer (both pull
 * the same image afresh) and `guestComponentsMs` = sealed minus plain sandbox start (AA + CDH).
 */
import { execFile } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { generatePolicy } from "../src/host/genpolicy/generate.js";
import { guestConfigs } from "../src/host/genpolicy/guest-config.js";
import { fetchImageInfo } from "../src/host/runtime/image-config.js";
import { parsePod } from "../src/host/runtime/pod.js";
import { podInitData, type RunTimings, runPod } from "../src/host/runtime/run.js";
import { createProcessSandboxBackend } from "../src/host/sandbox/process.js";
import { createQemuSandboxBackend } from "../src/host/sandbox/qemu.js";
import { chooseAccel, findQemu } from "../src/host/sandbox/qemu-host.js";
import type { SandboxBackend } from "../src/host/sandbox/sandbox.js";
import { sealSecret } from "../src/protocol/sealed-secret/index.js";
import { pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { freePort } from "../test/helpers/ports.js";
import { type RunningProcess, startProcess } from "../test/helpers/process.js";
import { startRegistry } from "../test/helpers/registry.js";
import { printHeader, report, type Stats, summarize } from "./harness.js";

const exec = promisify(execFile);
const coco = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const SECRET = "bench-secret";

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  printHeader("pod-qemu");
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 2;
  const qemu = findQemu();
  if (!qemu) throw new Error("qemu-system-x86_64 is not installed");
  const { accel, why } = await chooseAccel(qemu);
  console.log(`# qemu accelerator: ${accel} (${why})`);
  const dir = mkdtempSync(join(tmpdir(), "bench-pod-qemu-"));
  const procs: RunningProcess[] = [];
  const registry = await startRegistry("plain");
  try {
    const image = (await pushBusyboxImage(registry.host)).tagged;
    const kbsUrl = await startTrustee(dir, procs);
    const admin = (more: string[]) =>
      exec(process.execPath, [
        coco,
        "kbs-client",
        "--url",
        kbsUrl,
        "config",
        "--admin-token-file",
        join(dir, "admin.jwt"),
        ...more,
      ]);
    const put = async (path: string, data: string) => {
      const f = join(dir, `res-${path.replaceAll("/", "_")}`);
      writeFileSync(f, data);
      await admin(["set-resource", "--path", path, "--resource-file", f]);
    };
    const signing = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      format: "jwk",
    });
    await put(
      "default/sealing-key/1",
      JSON.stringify({ kty: "EC", crv: "P-256", x: signing.x, y: signing.y }),
    );
    await put("default/app/secret", SECRET);
    const sealed = await sealSecret(
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
    const images = new Map([[image, await fetchImageInfo(image)]]);
    const pod = (name: string, env: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", "echo value=$SECRET"]
    env:
    - name: SECRET
      value: ${env}
`;
    const plainYaml = generatePolicy(
      pod("bench-plain", "plain"),
      parsePod(pod("bench-plain", "plain")),
      images,
      {
        allowLogs: true,
      },
    ).yaml;
    const sealedSrc = pod("bench-sealed", sealed);
    const sealedYaml = generatePolicy(sealedSrc, parsePod(sealedSrc), images, {
      allowLogs: true,
      initDataFiles: guestConfigs({ trustee: kbsUrl, insecureRegistries: [registry.host] }),
    }).yaml;
    // The data owner releases the key only to this pod's init-data digest.
    const digest = createHash("sha256")
      .update(podInitData(parsePod(sealedYaml))!)
      .digest("base64");
    writeFileSync(
      join(dir, "pin.rego"),
      `package policy\nimport rego.v1\ndefault allow := false\nallow if {\n\tdata.plugin == "resource"\n\tinput.submods.cpu0["ear.veraison.annotated-evidence"].init_data == ${JSON.stringify(digest)}\n}\n`,
    );
    await admin(["set-resource-policy", "--policy-file", join(dir, "pin.rego")]);

    const backends: [string, SandboxBackend][] = [
      [`qemu-${accel}`, createQemuSandboxBackend()],
      ["process", createProcessSandboxBackend()],
    ];
    const results = new Map<string, RunTimings[]>();
    for (const [name, backend] of backends) {
      for (const [variant, yaml, expect] of [
        ["plain", plainYaml, "value=plain\n"],
        ["sealed", sealedYaml, `value=${SECRET}\n`],
      ] as const) {
        const all: RunTimings[] = [];
        for (let i = 0; i < runs; i++) {
          let out = "";
          const r = await runPod(parsePod(yaml), {
            backend,
            stateRoot: join(dir, "state"),
            onOutput: (_c, _s, chunk) => {
              out += Buffer.from(chunk).toString();
            },
          });
          if (r.exitCode !== 0 || out !== expect) {
            throw new Error(
              `${name}/${variant}: exit ${r.exitCode}, output ${JSON.stringify(out)}`,
            );
          }
          all.push(r.timings);
        }
        results.set(`${name}/${variant}`, all);
        const med = (k: keyof RunTimings) =>
          summarize(
            k,
            all.map((t) => t[k] ?? 0),
          ).medianMs.toFixed(0);
        console.log(
          `${`${name}/${variant}`.padEnd(24)} sandbox ${med("sandboxMs")} ms  create ${med("createMs")} ms  start ${med("startMs")} ms  total ${med("totalMs")} ms  (n=${all.length})`,
        );
      }
    }
    const stats = (key: string, label: string): Stats => {
      const all = results.get(key) ?? [];
      const plain = results.get(key.replace("sealed", "plain")) ?? [];
      const s = summarize(
        label,
        all.map((t) => t.totalMs),
      );
      const m = (runs: RunTimings[], k: keyof RunTimings) =>
        summarize(
          k,
          runs.map((t) => t[k] ?? 0),
        ).medianMs;
      s.extra = {
        sandboxMs: Math.round(m(all, "sandboxMs")),
        createMs: Math.round(m(all, "createMs")),
        startMs: Math.round(m(all, "startMs")),
        // AA + CDH start in the guest (sandbox phase), attestation + resource fetch + unseal on
        // the first sealed value (CreateContainer phase), each as sealed minus plain.
        guestComponentsMs: Math.round(m(all, "sandboxMs") - m(plain, "sandboxMs")),
        attestAndUnsealMs: Math.round(m(all, "createMs") - m(plain, "createMs")),
      };
      return s;
    };
    report(
      "pod-qemu",
      stats(`qemu-${accel}/sealed`, `qemu-${accel} sealed pod`),
      stats("process/sealed", "process sealed pod"),
      `qemu accel=${accel}; guestComponents/attestAndUnseal = sealed minus plain`,
    );
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startTrustee(dir: string, procs: RunningProcess[]): Promise<string> {
  const key = generateKeyPairSync("ed25519");
  writeFileSync(join(dir, "admin.pub"), key.publicKey.export({ format: "pem", type: "spki" }));
  writeFileSync(join(dir, "admin.pem"), key.privateKey.export({ format: "pem", type: "pkcs8" }), {
    mode: 0o600,
  });
  const port = await freePort();
  writeFileSync(
    join(dir, "kbs.toml"),
    `[http_server]
sockets = ["127.0.0.1:${port}"]
insecure_http = true

[admin]
authorization_mode = "AuthenticatedAuthorization"

[admin.authentication.bearer_jwt]
identity_providers = [{ issuer = "coco-bench", public_key_uri = "${join(dir, "admin.pub")}" }]

[admin.authorization.regex_acl]
acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]

[storage_backend]
storage_type = "LocalFs"

[storage_backend.backends.local_fs]
dir_path = "${join(dir, "store")}"

[[plugins]]
name = "resource"
`,
  );
  procs.push(
    await startProcess({
      name: "trustee",
      command: process.execPath,
      args: [coco, "trustee", "-c", join(dir, "kbs.toml")],
      ready: { kind: "tcp", port },
    }),
  );
  const token = await exec(process.execPath, [
    coco,
    "trustee",
    "admin-token",
    "--key",
    join(dir, "admin.pem"),
    "--issuer",
    "coco-bench",
  ]);
  writeFileSync(join(dir, "admin.jwt"), token.stdout);
  return `http://127.0.0.1:${port}`;
}
