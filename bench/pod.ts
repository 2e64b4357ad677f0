/**
 * `npm run bench -- pod [--runs N]`: time from `coco run` to the container's first output with
 * the process sandbox, split into sandbox start, CreateContainer (image pull in the guest;
 * + attestation and unsealing for the sealed pod) and StartContainer, for an uncached pull (a
 * fresh sandbox) and a cached one (a second container with the same image in the same sandbox,
 * whose layers CDH's blob store already holds). The peer, measured in the same run, is bare
 * `runc run` of an already unpacked busybox bundle: the floor with no sandbox, no policy, no pull.
 * Also: agent-policy evaluation of one CreateContainerRequest on our Rego engine.
 * The qemu figures are in `npm run bench -- pod-qemu`.
 */
import { execFile, spawn } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type GenerateOptions, generatePolicy } from "../src/host/genpolicy/generate.js";
import { guestConfigs } from "../src/host/genpolicy/guest-config.js";
import { fetchImageInfo } from "../src/host/runtime/image-config.js";
import { parsePod } from "../src/host/runtime/pod.js";
import { containerPlan, newId } from "../src/host/runtime/requests.js";
import { podInitData, type RunResult, runPod } from "../src/host/runtime/run.js";
import { createProcessSandboxBackend } from "../src/host/sandbox/process.js";
import {
  decodeAgentMessage,
  encodeAgentMessage,
  type Json,
  toPolicyInput,
} from "../src/protocol/agent/index.js";
import { sealSecret } from "../src/protocol/sealed-secret/index.js";
import { createEngine } from "../src/rego/index.js";
import { BUSYBOX_BIN, pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { freePort } from "../test/helpers/ports.js";
import { type RunningProcess, startProcess } from "../test/helpers/process.js";
import { startRegistry } from "../test/helpers/registry.js";
import { measure, printHeader, report, type Stats, summarize } from "./harness.js";

const exec = promisify(execFile);
const coco = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const runs = Number(args[args.indexOf("--runs") + 1] ?? "") || 5;
  printHeader("pod");
  const backend = createProcessSandboxBackend();
  const why = await backend.unavailable();
  if (why) {
    console.log(`# skipped: ${why}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "bench-pod-"));
  const procs: RunningProcess[] = [];
  const registry = await startRegistry("plain");
  try {
    const image = (await pushBusyboxImage(registry.host)).tagged;
    const info = await fetchImageInfo(image);
    const kbsUrl = await startTrustee(dir, procs);
    const sealed = await sealedSecret(dir, kbsUrl);

    const yaml = (name: string, containers: string[], env = "") =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n${containers
        .map(
          (c) =>
            `  - name: ${c}\n    image: ${image}\n    command: ["/bin/sh", "-c", "echo ready"]\n${env}`,
        )
        .join("")}`;
    const gen = (text: string, o: GenerateOptions) => {
      const pod = parsePod(text);
      return generatePolicy(text, pod, new Map([[image, info]]), o);
    };
    const plain = gen(yaml("plain", ["app", "app2"]), { allowLogs: true }).yaml;
    const sealedYaml = gen(
      yaml("sealed", ["app", "app2"], `    env:\n    - name: S\n      value: ${sealed}\n`),
      {
        allowLogs: true,
        initDataFiles: guestConfigs({ trustee: kbsUrl, insecureRegistries: [registry.host] }),
      },
    ).yaml;
    const digest = createHash("sha256")
      .update(podInitData(parsePod(sealedYaml))!)
      .digest("base64");
    await pinInitData(dir, kbsUrl, digest);

    const once = async (text: string): Promise<RunResult> => {
      const r = await runPod(parsePod(text), { backend, stateRoot: join(dir, "state") });
      if (r.exitCode !== 0) throw new Error(`pod exited ${r.exitCode}`);
      return r;
    };
    for (const [name, text] of [
      ["plain", plain],
      ["sealed", sealedYaml],
    ] as const) {
      await once(text); // warm-up
      const rs: RunResult[] = [];
      for (let i = 0; i < runs; i++) rs.push(await once(text));
      const med = (f: (r: RunResult) => number) => summarize("x", rs.map(f)).medianMs.toFixed(0);
      console.log(
        `${name.padEnd(7)} sandbox ${med((r) => r.timings.sandboxMs)} ms  create(uncached) ${med((r) => r.containerTimings[0]!.createMs)} ms  create(cached) ${med((r) => r.containerTimings[1]!.createMs)} ms  start ${med((r) => r.timings.startMs)} ms  first output ${med((r) => r.timings.firstOutputMs ?? 0)} ms  total ${med((r) => r.timings.totalMs)} ms  (n=${runs})`,
      );
      if (name === "sealed") {
        const ours: Stats = summarize(
          "coco run → first output (sealed, process)",
          rs.map((r) => r.timings.firstOutputMs ?? r.timings.totalMs),
        );
        ours.extra = {
          sandbox_ms: Number(med((r) => r.timings.sandboxMs)),
          create_ms: Number(med((r) => r.timings.createMs)),
        };
        const peer = await runcFloor(dir, runs);
        report(
          "pod",
          ours,
          peer,
          "peer = bare runc run of an unpacked bundle (no sandbox, policy, pull or attestation)",
        );
      }
    }

    // Policy evaluation of one CreateContainerRequest (what the agent does on every create).
    const pod = parsePod(plain);
    const policy = gen(yaml("plain", ["app", "app2"]), { allowLogs: true }).policy;
    const engine = createEngine();
    engine.addPolicy("policy.rego", policy);
    engine.addData({ pstate: {} });
    const req = containerPlan(pod, pod.containers[0]!, info, {
      cid: newId(),
      sandboxId: newId(),
    }).request;
    const input = toPolicyInput(
      "CreateContainerRequest",
      decodeAgentMessage(
        "CreateContainerRequest",
        encodeAgentMessage("CreateContainerRequest", req),
      ),
    ) as Json;
    const evalStats = await measure(
      "policy eval CreateContainerRequest",
      () => {
        engine.setInput(input);
        const v = engine.evalQuery("data.agent_policy.CreateContainerRequest").result?.[0]
          ?.expressions[0]?.value as { allowed?: boolean };
        if (v?.allowed !== true) throw new Error("the policy denied the runtime's own request");
      },
      { runs: 50, warmup: 3 },
    );
    console.log(
      `policy eval CreateContainerRequest: median ${evalStats.medianMs.toFixed(2)} ms (n=50)`,
    );
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bare `runc run` of a busybox bundle to its first output byte. */
async function runcFloor(dir: string, runs: number): Promise<Stats> {
  const bundle = join(dir, "floor");
  mkdirSync(join(bundle, "rootfs", "bin"), { recursive: true });
  await exec("cp", [BUSYBOX_BIN, join(bundle, "rootfs", "bin", "busybox")]);
  const r = await exec("runc", ["spec", "--bundle", bundle]).catch((e) => e);
  void r;
  const { readFileSync } = await import("node:fs");
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as {
    process: { terminal: boolean; args: string[] };
  };
  spec.process.terminal = false;
  spec.process.args = ["/bin/busybox", "echo", "ready"];
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  let n = 0;
  return measure(
    "bare runc run → first output",
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(
          "runc",
          [
            "--root",
            join(dir, "runc-floor"),
            "run",
            "--bundle",
            bundle,
            `floor-${process.pid}-${n++}`,
          ],
          {
            stdio: ["ignore", "pipe", "inherit"],
          },
        );
        let done = false;
        child.stdout.once("data", () => {
          done = true;
          resolve();
        });
        child.once("exit", (code) => {
          if (!done) reject(new Error(`runc exited ${code} without output`));
        });
      }),
    { runs, warmup: 1 },
  );
}

async function startTrustee(dir: string, procs: RunningProcess[]): Promise<string> {
  const admin = generateKeyPairSync("ed25519");
  writeFileSync(join(dir, "admin.pub"), admin.publicKey.export({ format: "pem", type: "spki" }));
  writeFileSync(join(dir, "admin.pem"), admin.privateKey.export({ format: "pem", type: "pkcs8" }), {
    mode: 0o600,
  });
  const port = await freePort();
  writeFileSync(
    join(dir, "kbs.toml"),
    `[http_server]\nsockets = ["127.0.0.1:${port}"]\ninsecure_http = true\n\n[admin]\nauthorization_mode = "AuthenticatedAuthorization"\n\n[admin.authentication.bearer_jwt]\nidentity_providers = [{ issuer = "bench-pod", public_key_uri = "${join(dir, "admin.pub")}" }]\n\n[admin.authorization.regex_acl]\nacls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]\n\n[storage_backend]\nstorage_type = "LocalFs"\n\n[storage_backend.backends.local_fs]\ndir_path = "${join(dir, "store")}"\n\n[[plugins]]\nname = "resource"\n`,
  );
  procs.push(
    await startProcess({
      name: "trustee",
      command: process.execPath,
      args: [coco, "trustee", "-c", join(dir, "kbs.toml")],
      ready: { kind: "tcp", port },
    }),
  );
  const token = (
    await exec(process.execPath, [
      coco,
      "trustee",
      "admin-token",
      "--key",
      join(dir, "admin.pem"),
      "--issuer",
      "bench-pod",
    ])
  ).stdout;
  writeFileSync(join(dir, "admin.jwt"), token);
  return `http://127.0.0.1:${port}`;
}

async function kbsAdmin(dir: string, kbsUrl: string, args: string[]): Promise<void> {
  await exec(process.execPath, [
    coco,
    "kbs-client",
    "--url",
    kbsUrl,
    "config",
    "--admin-token-file",
    join(dir, "admin.jwt"),
    ...args,
  ]);
}

async function sealedSecret(dir: string, kbsUrl: string): Promise<string> {
  const signing = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    format: "jwk",
  });
  const put = async (path: string, data: string) => {
    const f = join(dir, `res-${path.replaceAll("/", "_")}`);
    writeFileSync(f, data);
    await kbsAdmin(dir, kbsUrl, ["set-resource", "--path", path, "--resource-file", f]);
  };
  await put(
    "default/sealing-key/1",
    JSON.stringify({ kty: "EC", crv: "P-256", x: signing.x, y: signing.y }),
  );
  await put("default/app/secret", "bench-secret");
  return sealSecret(
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
}

async function pinInitData(dir: string, kbsUrl: string, digest: string): Promise<void> {
  writeFileSync(
    join(dir, "pin.rego"),
    `package policy\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n\tdata.plugin == "resource"\n\tinput.submods.cpu0["ear.veraison.annotated-evidence"].init_data == ${JSON.stringify(digest)}\n}\n`,
  );
  await kbsAdmin(dir, kbsUrl, ["set-resource-policy", "--policy-file", join(dir, "pin.rego")]);
}
