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
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
import { createEngine } from "../src/rego/index.js";
import { BUSYBOX_BIN, pushBusyboxImage } from "../test/helpers/busybox-image.js";
import { startRegistry } from "../test/helpers/registry.js";
import { startTrusteeProcess, type TrusteeProcess } from "../test/helpers/trustee-process.js";
import { measure, printHeader, report, type Stats, summarize } from "./harness.js";

const exec = promisify(execFile);

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
  let trustee: TrusteeProcess | undefined;
  const registry = await startRegistry("plain");
  try {
    const image = (await pushBusyboxImage(registry.host)).tagged;
    const info = await fetchImageInfo(image);
    trustee = await startTrusteeProcess(dir);
    const kbsUrl = trustee.url;
    const sealed = await trustee.sealSecret("default/app/secret", "bench-secret");

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
    await trustee.pinInitData(digest);

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
    await trustee?.stop();
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
