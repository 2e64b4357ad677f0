/**
 * `npm run bench -- rego-builtins [--quick]`: per-decision time of builtin-heavy policies on a
 * prepared engine, against `opa bench` on the same policy and input in the same run.
 *  - regex: Kata-style regex.match / find_all_string_submatch_n over container args.
 *  - jwt: io.jwt.decode_verify of an ES256 token with a JWK, plus claim checks.
 *  - time: RFC 3339 parsing, add_date, diff and format.
 *  - net-glob: net.cidr_contains over a CIDR list and glob.match over host names.
 *  - encoding: base64url, json.unmarshal, yaml.unmarshal, units.parse_bytes.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine } from "../src/rego/index.js";
import { printHeader, report, type Stats, summarize } from "./harness.js";
import { opa, opaBench } from "./opa.js";

interface Scenario {
  name: string;
  policy: string;
  input: unknown;
  query: string;
}

function es256Token(): { token: string; jwk: string } {
  const kp = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const b64 = (s: string) => Buffer.from(s).toString("base64url");
  const head = `${b64('{"alg":"ES256","typ":"JWT","kid":"k1"}')}.${b64('{"iss":"trustee","aud":"kbs","exp":4102444800,"nbf":1000,"tee":"tdx"}')}`;
  const sig = sign("sha256", Buffer.from(head), { key: kp.privateKey, dsaEncoding: "ieee-p1363" });
  const jwk = { ...kp.publicKey.export({ format: "jwk" }), kid: "k1", alg: "ES256" };
  return { token: `${head}.${sig.toString("base64url")}`, jwk: JSON.stringify({ keys: [jwk] }) };
}

function scenarios(): Scenario[] {
  const args = Array.from({ length: 40 }, (_, i) => `--opt-${i}=value${i}`);
  const { token, jwk } = es256Token();
  return [
    {
      name: "regex",
      policy: `package b
import rego.v1
allow if {
  every a in input.args { regex.match("^--[a-z]+-[0-9]+=[a-z0-9]+$", a) }
  count(regex.find_all_string_submatch_n("(opt)-([0-9]+)", concat(" ", input.args), -1)) == 40
}`,
      input: { args },
      query: "data.b.allow",
    },
    {
      name: "jwt",
      policy: `package b
import rego.v1
allow if {
  [ok, _, claims] := io.jwt.decode_verify(input.token, {"cert": input.jwks, "aud": "kbs", "iss": "trustee"})
  ok
  claims.tee == "tdx"
}`,
      input: { token, jwks: jwk },
      query: "data.b.allow",
    },
    {
      name: "time",
      policy: `package b
import rego.v1
allow if {
  t := time.parse_rfc3339_ns(input.issued)
  later := time.add_date(t, 0, 1, 15)
  d := time.diff(later, t)
  d[1] == 1
  time.format([later, "UTC", "2006-01-02"]) == "2024-03-17"
  time.parse_duration_ns("1h30m") == 5400000000000
}`,
      input: { issued: "2024-01-31T10:00:00.123456789+02:00" },
      query: "data.b.allow",
    },
    {
      name: "net-glob",
      policy: `package b
import rego.v1
cidrs := ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"]
allow if {
  some c in cidrs
  net.cidr_contains(c, input.ip)
  glob.match("*.svc.cluster.local", ["."], input.host) == false
  glob.match("**.cluster.local", ["."], input.host)
}`,
      input: { ip: "192.168.10.20", host: "api.default.svc.cluster.local" },
      query: "data.b.allow",
    },
    {
      name: "encoding",
      policy: `package b
import rego.v1
allow if {
  doc := json.unmarshal(base64url.decode(input.doc))
  y := yaml.unmarshal(input.yaml)
  doc.kind == y.kind
  units.parse_bytes(y.limits.memory) == 536870912
}`,
      input: {
        doc: Buffer.from(
          JSON.stringify({ kind: "Pod", spec: { containers: [{ name: "a" }] } }),
        ).toString("base64url"),
        yaml: "kind: Pod\nlimits:\n  memory: 512Mi\n  cpu: 500m\n",
      },
      query: "data.b.allow",
    },
  ];
}

function timeOurs(s: Scenario, n: number, batches: number): Stats {
  const e = createEngine();
  e.setStrictBuiltinErrors(true);
  e.addPolicy("b.rego", s.policy);
  e.prepare();
  const decide = () => {
    e.setInput(s.input as never);
    const r = e.evalQuery(s.query);
    const v = r.result?.[0]?.expressions[0]?.value;
    if (v !== true) throw new Error(`${s.name}: decision was ${JSON.stringify(r.result)}`);
  };
  for (let i = 0; i < Math.min(n, 200); i++) decide();
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

function timeOpa(s: Scenario, batches: number): Stats {
  const dir = mkdtempSync(join(tmpdir(), "rego-builtins-bench-"));
  try {
    writeFileSync(join(dir, "b.rego"), s.policy);
    writeFileSync(join(dir, "input.json"), JSON.stringify(s.input));
    const files = ["-d", join(dir, "b.rego"), "-i", join(dir, "input.json"), s.query];
    // Same decision on both sides, or the comparison means nothing.
    const evalArgs = ["eval", "--format", "json", ...files];
    const decided = JSON.parse(execFileSync(opa, evalArgs, { encoding: "utf8" })) as {
      result?: { expressions: { value: unknown }[] }[];
    };
    if (decided.result?.[0]?.expressions[0]?.value !== true)
      throw new Error(`opa: ${s.name} did not allow`);
    return opaBench(s.name, files, batches);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Entry point for bench/run.ts. */
export async function run(args: string[]): Promise<void> {
  printHeader("rego-builtins");
  const quick = args.includes("--quick");
  if (!existsSync(opa)) throw new Error(`opa not found at ${opa}: run scripts/setup`);
  for (const s of scenarios()) {
    const ours = timeOurs(s, quick ? 300 : 2000, quick ? 3 : 7);
    const peer = timeOpa(s, quick ? 1 : 3);
    report("rego-builtins", ours, peer, s.name);
  }
}
