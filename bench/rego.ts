/**
 * `npm run bench -- rego`: per-decision time of the Rego engine on a prepared engine, against
 * `opa bench` on the same policy, data and input in the same run.
 *  - KBS resource-policy decision (Trustee's policy_5 shape: allow with an SVN table).
 *  - Kata CreateContainer decision (genpolicy-style rules with policy_data).
 *  - Kata CreateContainer decision on the policy our own generator (src/host/genpolicy) writes for
 *    a three-container pod, with the request the runtime (src/host/runtime) sends.
 *  - Optional: a real genpolicy-generated policy from regorus's fixtures (REGORUS_KATA_DIR).
 * Each scenario's decision is checked equal to `opa eval`'s before timing.
 */
import { deepStrictEqual } from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatePolicy } from "../src/host/genpolicy/generate.js";
import type { ImageInfo } from "../src/host/runtime/image-config.js";
import { parsePod } from "../src/host/runtime/pod.js";
import { containerPlan } from "../src/host/runtime/requests.js";
import {
  decodeAgentMessage,
  encodeAgentMessage,
  toPolicyInput,
} from "../src/protocol/agent/index.js";
import { createEngine, type Engine } from "../src/rego/index.js";
import { printHeader, report, type Stats, summarize } from "./harness.js";
import { opa, opaBench } from "./opa.js";

const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
const testdata = join(repo, "src", "rego", "testdata");

/** One timed decision: policy, data, input and query. */
export interface Scenario {
  name: string;
  modules: Record<string, string>;
  data: unknown;
  input: unknown;
  query: string;
  strict: boolean;
  v0?: boolean;
}

function kbsScenario(): Scenario {
  const policy = `package policy
import rego.v1
default allow := false
resources := {"secret1": 2, "secret2": 3}
allow if {
  input.submods.cpu0["ear.veraison.annotated-evidence"].sample
  data.plugin == "resource"
  data["resource-path"][0] == "myrepo"
  data["resource-path"][1] == "secret"
  resources[data["resource-path"][2]] <= input.submods.cpu0["ear.veraison.annotated-evidence"].sample.svn
}
`;
  return {
    name: "kbs-resource-policy",
    modules: { "policy.rego": policy },
    data: { plugin: "resource", "resource-path": ["myrepo", "secret", "secret1"] },
    input: {
      submods: {
        cpu0: {
          "ear.status": "affirming",
          "ear.trustworthiness-vector": { executables: 2, hardware: 3 },
          "ear.veraison.annotated-evidence": { sample: { productId: "n", svn: 2 } },
        },
      },
    },
    query: "data.policy.allow",
    strict: true,
  };
}

function kataScenario(): Scenario {
  return {
    name: "kata-create-container",
    modules: { "policy.rego": readFileSync(join(testdata, "kata-agent.rego"), "utf8") },
    data: JSON.parse(readFileSync(join(testdata, "kata-policy-data.json"), "utf8")),
    input: JSON.parse(readFileSync(join(testdata, "kata-create-container.json"), "utf8")),
    query: "data.agent_policy.CreateContainerRequest",
    strict: false,
  };
}

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: shop
  namespace: prod
  labels:
    app: shop
spec:
  runtimeClassName: kata-cc
  containers:
  - name: web
    image: 127.0.0.1:5000/shop/web:v3
    command: ["/usr/bin/web", "--port", "8080"]
    env:
    - name: MODE
      value: production
    - name: DB_PASSWORD
      value: sealed.eyJhbGciOiJFUzI1NiJ9.e30.c2ln
    volumeMounts:
    - name: cfg
      mountPath: /etc/web
    - name: cache
      mountPath: /var/cache/web
    resources:
      limits:
        cpu: "1"
        memory: 512Mi
  - name: worker
    image: 127.0.0.1:5000/shop/worker:v3
    command: ["/usr/bin/worker"]
    args: ["--queue", "orders", "--concurrency", "4"]
    env:
    - name: QUEUE_URL
      value: amqp://queue:5672
    - name: LOG_LEVEL
      value: info
    - name: API_TOKEN
      value: sealed.eyJhbGciOiJFUzI1NiJ9.e30.dG9r
    volumeMounts:
    - name: cfg
      mountPath: /etc/worker
    - name: cache
      mountPath: /var/cache/worker
    - name: scratch
      mountPath: /scratch
  - name: metrics
    image: 127.0.0.1:5000/shop/metrics:v1
    args: ["--listen", ":9100"]
    env:
    - name: TARGET
      value: localhost:8080
  volumes:
  - name: cfg
    configMap:
      name: shop-cfg
  - name: cache
    emptyDir: {}
  - name: scratch
    emptyDir:
      medium: Memory
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-cfg
  namespace: prod
data:
  web.toml: |
    listen = ":8080"
  worker.toml: |
    queue = "orders"
`;

/**
 * The policy src/host/genpolicy generates for a three-container pod, and the CreateContainer
 * request src/host/runtime sends for its second container (through the agent wire codec).
 */
function cocoGenpolicyScenario(): Scenario {
  const pod = parsePod(POD);
  const images = new Map<string, ImageInfo>();
  for (const [i, c] of pod.containers.entries()) {
    const digest = `sha256:${(i + 10).toString(16).repeat(64).slice(0, 64)}`;
    images.set(c.image, {
      pinned: `${c.image.split(":").slice(0, -1).join(":")}@${digest}`,
      manifestDigest: digest,
      config: {
        Env: ["PATH=/usr/local/bin:/usr/bin:/bin", `IMAGE_INDEX=${i}`],
        Cmd: ["/bin/sh"],
        WorkingDir: "/srv",
      },
    });
  }
  const gen = generatePolicy(POD, pod, images);
  const policy = gen.policy;
  const pinned = parsePod(gen.yaml);
  const c = pinned.containers[1]!;
  const image = [...images.values()].find((im) => im.pinned === c.image)!;
  const sandboxId = "5d0c".repeat(16);
  const plan = containerPlan(pinned, c, image, { cid: "c0a1".repeat(16), sandboxId });
  const name = "CreateContainerRequest";
  const input = toPolicyInput(
    name,
    decodeAgentMessage(name, encodeAgentMessage(name, plan.request)),
  );
  return {
    name: "coco-genpolicy-create-container",
    modules: { "policy.rego": policy },
    data: { pstate: {} },
    input,
    query: "data.agent_policy.CreateContainerRequest",
    strict: false,
  };
}

/**
 * Optional: a real genpolicy-generated Kata policy (~1,800 lines of rules + policy_data) from
 * regorus's fixtures, when REGORUS_KATA_DIR points at its tests/kata/data (not vendored).
 */
function regorusKataScenario(): Scenario | undefined {
  const dir = process.env.REGORUS_KATA_DIR;
  if (!dir || !existsSync(join(dir, "pod-exec", "policy.rego"))) return undefined;
  const lines = readFileSync(join(dir, "pod-exec", "inputs.txt"), "utf8").split("\n");
  const line = lines.find((l) => l.includes('"ep":"CreateContainerRequest"'));
  if (!line) return undefined;
  const [, input] = JSON.parse(line.trim().replace('"ep":', "").slice(0, -1)) as [string, unknown];
  return {
    name: "kata-genpolicy-create-container",
    modules: { "policy.rego": readFileSync(join(dir, "pod-exec", "policy.rego"), "utf8") },
    data: {},
    input,
    query: "data.agent_policy.CreateContainerRequest",
    strict: false,
    v0: true,
  };
}

function prepare(s: Scenario): Engine {
  const e = createEngine();
  e.setRegoV0(s.v0 === true);
  e.setStrictBuiltinErrors(s.strict);
  for (const [n, t] of Object.entries(s.modules)) e.addPolicy(n, t);
  e.addData(s.data);
  e.prepare();
  return e;
}

/** Median per-decision time over `batches` batches of `n` decisions (setInput + query). */
function timeOurs(s: Scenario, n: number, batches: number): Stats {
  const e = prepare(s);
  const decide = () => {
    e.setInput(s.input);
    const r = e.evalQuery(s.query);
    if (!r.result) throw new Error(`${s.name}: undefined decision`);
  };
  for (let i = 0; i < n; i++) decide(); // warm-up (JIT)
  const per: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) decide();
    per.push(Number(process.hrtime.bigint() - t0) / 1e6 / n);
  }
  const st = summarize(`coco-ts ${s.name}`, per);
  st.extra = { us_per_decision: +(st.medianMs * 1000).toFixed(2), decisions: n * batches };
  return st;
}

/** Writes the scenario's files for `opa` and returns the arguments naming them. */
function opaFiles(s: Scenario, dir: string): string[] {
  const args: string[] = [];
  for (const [n, t] of Object.entries(s.modules)) {
    writeFileSync(join(dir, n), t);
    args.push("-d", join(dir, n));
  }
  writeFileSync(join(dir, "data.json"), JSON.stringify(s.data));
  writeFileSync(join(dir, "input.json"), JSON.stringify(s.input));
  args.push("-d", join(dir, "data.json"), "-i", join(dir, "input.json"));
  if (s.v0) args.push("--v0-compatible");
  args.push(s.query);
  return args;
}

/** Refuses to time a scenario whose decision differs from `opa eval`'s on the same files. */
function checkSameDecision(s: Scenario): unknown {
  const ours = prepare(s);
  ours.setInput(s.input);
  const mine = ours.evalQuery(s.query).result?.[0]?.expressions[0]?.value;
  const dir = mkdtempSync(join(tmpdir(), "rego-bench-"));
  try {
    const out = JSON.parse(
      execFileSync(opa, ["eval", "--format", "json", ...opaFiles(s, dir)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      }),
    ) as { result?: { expressions: { value: unknown }[] }[] };
    const theirs = out.result?.[0]?.expressions[0]?.value;
    deepStrictEqual(mine, theirs, `${s.name}: coco-ts and opa disagree on the decision`);
    if (mine === undefined || mine === false) throw new Error(`${s.name}: request not allowed`);
    return mine;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `opa bench` on the same files; its ns/op over `batches` runs. */
function timeOpa(s: Scenario, batches: number): Stats {
  const dir = mkdtempSync(join(tmpdir(), "rego-bench-"));
  try {
    return opaBench(s.name, opaFiles(s, dir), batches);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The scenarios timed (exported for profiling scripts), plus the optional real policy. */
export function loadScenarios(): { scenarios: Scenario[]; prepare: (s: Scenario) => Engine } {
  const scenarios = [kbsScenario(), kataScenario(), cocoGenpolicyScenario()];
  const real = regorusKataScenario();
  if (real) scenarios.push(real);
  return { scenarios, prepare };
}

/** Entry point for bench/run.ts. */
export async function run(args: string[]): Promise<void> {
  printHeader("rego");
  const quick = args.includes("--quick");
  if (!existsSync(opa)) throw new Error(`opa not found at ${opa}: run scripts/setup`);
  const { scenarios } = loadScenarios();
  if (scenarios.length < 4)
    console.log("# (set REGORUS_KATA_DIR to also time a real genpolicy Kata policy)");
  for (const s of scenarios) {
    const decision = checkSameDecision(s);
    console.log(`# ${s.name}: same decision as opa eval: ${JSON.stringify(decision).slice(0, 80)}`);
    const ours = timeOurs(s, quick ? 500 : 5000, quick ? 3 : 7);
    const peer = timeOpa(s, quick ? 1 : 3);
    report("rego", ours, peer, s.name);
  }
}
