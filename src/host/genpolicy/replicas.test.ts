/**
 * Replicas share one identity: a policy generated from a workload's pod template admits any name
 * its controller gives a replica (as genpolicy does for Deployments), so all replicas carry the
 * same init-data and one digest pinned in Trustee admits them all. A Pod keeps its exact name.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { toolPath } from "../../../test/helpers/paths.js";
import {
  decodeAgentMessage,
  encodeAgentMessage,
  type Json,
  toPolicyInput,
} from "../../protocol/agent/index.js";
import { parseInitData } from "../../protocol/initdata/index.js";
import { createEngine } from "../../rego/index.js";
import type { ImageInfo } from "../runtime/image-config.js";
import { type PodSpec, parsePod, parseWorkload } from "../runtime/pod.js";
import { containerPlan, newId } from "../runtime/requests.js";
import { generatePolicy } from "./generate.js";

const DIGEST = `sha256:${"cd".repeat(32)}`;
const IMAGE = "127.0.0.1:5000/coco/busybox:v1";
const image: ImageInfo = {
  pinned: `127.0.0.1:5000/coco/busybox@${DIGEST}`,
  manifestDigest: DIGEST,
  config: { Env: ["PATH=/bin"], Cmd: ["/bin/sh"] },
};

const podSpec = `  runtimeClassName: coco-dev
  containers:
  - name: app
    image: ${IMAGE}
    command: ["/bin/sh", "-c", "echo $HOSTNAME; sleep 3600"]
  - name: side
    image: ${IMAGE}
    command: ["/bin/sleep", "3600"]`;

const indent = (s: string, n: number) =>
  s
    .split("\n")
    .map((l) => " ".repeat(n) + l)
    .join("\n");

function workload(kind: string, name: string, extraSpec = ""): string {
  const api = kind === "Job" ? "batch/v1" : "apps/v1";
  return `apiVersion: ${api}
kind: ${kind}
metadata:
  name: ${name}
spec:
${extraSpec}  template:
    metadata:
      labels: {app: ${name}}
    spec:
${indent(podSpec, 4)}
`;
}

const pod = (name: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
${podSpec}
`;

function generate(text: string) {
  const w = parseWorkload(text);
  const images = new Map([[IMAGE, image]]);
  return generatePolicy(text, w.pod, images, w.owner ? { owner: w.owner } : {});
}

/** A policy engine with genpolicy's state (pstate), like the agent's. */
function agent(policy: string) {
  const engine = createEngine();
  engine.addPolicy("policy.rego", policy);
  let data: Record<string, unknown> = { pstate: {} };
  engine.addData(data);
  return (name: string, msg: object): boolean => {
    engine.setInput(
      toPolicyInput(name, decodeAgentMessage(name, encodeAgentMessage(name, msg))) as Json,
    );
    const v = (engine.evalQuery(`data.agent_policy.${name}`).result ?? [])[0]?.expressions[0]
      ?.value;
    if (v && typeof v === "object" && (v as { allowed?: boolean }).allowed) {
      for (const op of (v as { ops: { op: string; path: string; value?: unknown }[] }).ops) {
        const key = op.path.split("/")[2] as string;
        const ps = { ...(data.pstate as Record<string, unknown>) };
        if (op.op === "add") ps[key] = op.value;
        else delete ps[key];
        data = { pstate: ps };
      }
      engine.clearData();
      engine.addData(data);
      return true;
    }
    return v === true;
  };
}

/** The CreateContainer request the runtime sends for container `idx` of a pod named `name`. */
function create(template: PodSpec, name: string, idx = 0, sandboxId = newId()) {
  const p = { ...template, name };
  return containerPlan(p, p.containers[idx] as PodSpec["containers"][number], image, {
    cid: newId(),
    sandboxId,
  }).request;
}

describe("one identity for a workload's replicas", () => {
  test("before: a Pod's init-data differs with its name (32 manifests, 32 digests)", () => {
    const digests = new Set<string>();
    for (let i = 0; i < 32; i++) {
      digests.add(
        Buffer.from(parseInitData(generate(pod(`web-${i}`)).initData).digest).toString("hex"),
      );
    }
    assert.equal(digests.size, 32);
  });

  test("a Deployment's pod template gives one init-data that admits three replicas' names", () => {
    const gen = generate(workload("Deployment", "web", "  replicas: 3\n"));
    const template = parseWorkload(gen.yaml).pod;
    for (const name of ["web-7d4b9c6f5d-x2k9p", "web-5b7c9d8f4-bbbbb", "web-2-zzzzz"]) {
      const ask = agent(gen.policy);
      const sandboxId = newId();
      assert.equal(ask("CreateContainerRequest", create(template, name, 0, sandboxId)), true, name);
      assert.equal(
        ask("CreateContainerRequest", create(template, name, 1, sandboxId)),
        true,
        `${name} side`,
      );
    }
    // The same bytes whatever the replica: one digest to pin in Trustee.
    assert.equal(generate(workload("Deployment", "web", "  replicas: 3\n")).initData, gen.initData);
  });

  test("the rewritten Deployment carries the annotation and pinned images in its pod template", () => {
    const gen = generate(workload("Deployment", "web"));
    const w = parseWorkload(gen.yaml);
    assert.equal(w.owner?.kind, "Deployment");
    assert.equal(w.pod.containers[0]?.image, image.pinned);
    assert.match(
      w.pod.annotations["io.katacontainers.config.hypervisor.cc_init_data"] ?? "",
      /^H4sI/,
    );
    assert.throws(() => parsePod(gen.yaml), { code: "ERR_POD_UNSUPPORTED", message: /Deployment/ });
  });

  test("names the Deployment would never give are refused", () => {
    const gen = generate(workload("Deployment", "web"));
    const template = parseWorkload(gen.yaml).pod;
    for (const name of [
      "other-7d4b9c6f5d-x2k9p", // another workload's prefix
      "web-x2k9p", // no pod-template-hash
      "web-7d4b9c6f5d-x2k9a", // 'a' is not in Kubernetes' safe alphabet
      "web-7d4b9c6f5d-x2k9pp", // random part of 6
      "web-7d4b9c6f5dd-x2k9p", // hash of 11
      "web-7d4b9c6f5d-x2k9p-zzzzz",
      "web--x2k9p",
    ]) {
      assert.equal(
        agent(gen.policy)("CreateContainerRequest", create(template, name)),
        false,
        name,
      );
    }
  });

  test("HOSTNAME must be the replica's own name, and one sandbox's containers share it", () => {
    const gen = generate(workload("Deployment", "web"));
    const template = parseWorkload(gen.yaml).pod;
    const req = create(template, "web-7d4b9c6f5d-x2k9p");
    const env = req.OCI?.Process?.Env ?? [];
    const lying = structuredClone(req);
    if (lying.OCI?.Process)
      lying.OCI.Process.Env = env.map((e) =>
        e.startsWith("HOSTNAME=") ? "HOSTNAME=web-7d4b9c6f5d-zzzzz" : e,
      );
    assert.equal(
      agent(gen.policy)("CreateContainerRequest", lying),
      false,
      "HOSTNAME of another replica",
    );
    const ask = agent(gen.policy);
    const sandboxId = newId();
    assert.equal(
      ask("CreateContainerRequest", create(template, "web-7d4b9c6f5d-x2k9p", 0, sandboxId)),
      true,
    );
    assert.equal(
      ask("CreateContainerRequest", create(template, "web-7d4b9c6f5d-bbbbb", 1, sandboxId)),
      false,
      "a second container claiming another replica's name",
    );
  });

  test("a Pod's policy still admits only its own name", () => {
    const gen = generate(pod("web"));
    const template = parsePod(gen.yaml);
    assert.equal(agent(gen.policy)("CreateContainerRequest", create(template, "web")), true);
    assert.equal(
      agent(gen.policy)("CreateContainerRequest", create(template, "web-7d4b9c6f5d-x2k9p")),
      false,
    );
  });

  test("StatefulSet, ReplicaSet, DaemonSet and Job replicas are named as their controllers name them", () => {
    const cases: [string, string, string[], string[]][] = [
      ["StatefulSet", "", ["db-0", "db-12"], ["db-01", "db-x", "db-", "db-0-bbbbb"]],
      ["ReplicaSet", "", ["rs-bbbbb"], ["rs-bbbb", "rs-7d4b9c6f5d-bbbbb"]],
      ["DaemonSet", "", ["ds-z2k9p"], ["ds-0"]],
      ["Job", "", ["job-bcdfg"], ["job-0-bcdfg", "job-1"]],
      [
        "Job",
        "  completionMode: Indexed\n",
        ["job-0-bcdfg", "job-17-bcdfg"],
        ["job-bcdfg", "job-01-bcdfg"],
      ],
    ];
    for (const [kind, extra, good, badNames] of cases) {
      const name = good[0]?.split("-")[0] as string;
      const gen = generate(workload(kind, name, extra));
      const template = parseWorkload(gen.yaml).pod;
      for (const n of good)
        assert.equal(
          agent(gen.policy)("CreateContainerRequest", create(template, n)),
          true,
          `${kind} ${n}`,
        );
      for (const n of badNames)
        assert.equal(
          agent(gen.policy)("CreateContainerRequest", create(template, n)),
          false,
          `${kind} ${n}`,
        );
    }
  });

  test("a workload name too long for Kubernetes to keep in its replicas' names is refused", () => {
    assert.throws(() => generate(workload("Deployment", "w".repeat(47))), {
      code: "ERR_POD_MANIFEST",
      message: /too long/,
    });
    assert.doesNotThrow(() => generate(workload("Deployment", "w".repeat(46))));
  });

  test("the workload policy passes `opa check`", {
    skip: existsSync(toolPath("opa")) ? false : "opa is not installed: run scripts/setup",
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), "coco-replicas-opa-"));
    try {
      writeFileSync(join(dir, "policy.rego"), generate(workload("Deployment", "web")).policy);
      const r = spawnSync(toolPath("opa"), ["check", join(dir, "policy.rego")], {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, `opa check refused the policy:\n${r.stdout}${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
