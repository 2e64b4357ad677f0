/**
 * `npm run bench -- rego`: per-decision time of the Rego engine on a prepared engine, against
 * `opa bench` on the same policy, data and input in the same run.
 *  - KBS resource-policy decision (Trustee's policy_5 shape: allow with an SVN table).
 *  - Kata CreateContainer decision (genpolicy-style rules with policy_data).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine, type Engine } from "../src/rego/index.js";
import { printHeader, report, type Stats, summarize } from "./harness.js";

const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
const opa = join(repo, ".tools", "bin", "opa");
const testdata = join(repo, "src", "rego", "testdata");

interface Scenario {
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

/** `opa bench` on the same files; its ns/op over `batches` runs. */
function timeOpa(s: Scenario, batches: number): Stats {
  const dir = mkdtempSync(join(tmpdir(), "rego-bench-"));
  try {
    const args = ["bench", "--format", "json", "--count", "1"];
    for (const [n, t] of Object.entries(s.modules)) {
      writeFileSync(join(dir, n), t);
      args.push("-d", join(dir, n));
    }
    writeFileSync(join(dir, "data.json"), JSON.stringify(s.data));
    writeFileSync(join(dir, "input.json"), JSON.stringify(s.input));
    args.push("-d", join(dir, "data.json"), "-i", join(dir, "input.json"));
    if (s.v0) args.push("--v0-compatible");
    args.push(s.query);
    const per: number[] = [];
    for (let b = 0; b < batches; b++) {
      const out = JSON.parse(execFileSync(opa, args, { encoding: "utf8" })) as {
        N: number;
        T: number;
      };
      per.push(out.T / out.N / 1e6);
    }
    const st = summarize(`opa bench ${s.name}`, per);
    st.extra = { us_per_decision: +(st.medianMs * 1000).toFixed(2) };
    return st;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Entry point for bench/run.ts. */
export async function run(args: string[]): Promise<void> {
  printHeader("rego");
  const quick = args.includes("--quick");
  if (!existsSync(opa)) throw new Error(`opa not found at ${opa}: run scripts/setup`);
  const scenarios = [kbsScenario(), kataScenario()];
  const real = regorusKataScenario();
  if (real) scenarios.push(real);
  else console.log("# (set REGORUS_KATA_DIR to also time a real genpolicy Kata policy)");
  for (const s of scenarios) {
    const ours = timeOurs(s, quick ? 500 : 5000, quick ? 3 : 7);
    const peer = timeOpa(s, quick ? 1 : 3);
    report("rego", ours, peer, s.name);
  }
}
