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
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine } from "../src/rego/index.js";
import { printHeader, report, summarize } from "./harness.js";
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

/** A prepared engine for `s` and one decision on it (checked to allow). */
function oursFor(s: Scenario): () => void {
  const e = createEngine();
  e.setStrictBuiltinErrors(true);
  e.addPolicy("b.rego", s.policy);
  e.prepare();
  return () => {
    e.setInput(s.input as never);
    const r = e.evalQuery(s.query);
    const v = r.result?.[0]?.expressions[0]?.value;
    if (v !== true) throw new Error(`${s.name}: decision was ${JSON.stringify(r.result)}`);
  };
}

/** One batch of `n` decisions: wall ms and CPU ms (user + system of this process) per decision. */
function oursBatch(decide: () => void, n: number): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) decide();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6 / n;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 / n };
}

function opaFiles(s: Scenario, dir: string): string[] {
  writeFileSync(join(dir, `${s.name}.rego`), s.policy);
  writeFileSync(join(dir, `${s.name}.json`), JSON.stringify(s.input));
  const files = ["-d", join(dir, `${s.name}.rego`), "-i", join(dir, `${s.name}.json`), s.query];
  // Same decision on both sides, or the comparison means nothing.
  const evalArgs = ["eval", "--format", "json", ...files];
  const decided = JSON.parse(execFileSync(opa, evalArgs, { encoding: "utf8" })) as {
    result?: { expressions: { value: unknown }[] }[];
  };
  if (decided.result?.[0]?.expressions[0]?.value !== true)
    throw new Error(`opa: ${s.name} did not allow`);
  return files;
}

/** Entry point for bench/run.ts. */
export async function run(args: string[]): Promise<void> {
  printHeader("rego-builtins");
  const quick = args.includes("--quick");
  if (!existsSync(opa)) throw new Error(`opa not found at ${opa}: run scripts/setup`);
  const n = quick ? 300 : 2000;
  const batches = quick ? 3 : 5;
  const dir = mkdtempSync(join(tmpdir(), "rego-builtins-bench-"));
  try {
    console.log(
      `# ${batches} rounds per policy, each ${n} decisions of ours then one opa bench (interleaved, so load hits both); load ${loadavg()[0]!.toFixed(2)}`,
    );
    for (const s of scenarios()) {
      const decide = oursFor(s);
      for (let i = 0; i < Math.min(n, 200); i++) decide();
      const files = opaFiles(s, dir);
      const wall: number[] = [];
      const cpu: number[] = [];
      const peer: number[] = [];
      for (let b = 0; b < batches; b++) {
        const r = oursBatch(decide, n);
        wall.push(r.wall);
        cpu.push(r.cpu);
        peer.push(opaBench(s.name, files, 1).medianMs);
      }
      const ours = summarize(`coco-ts ${s.name}`, wall);
      const cpuMed = summarize("cpu", cpu).medianMs;
      ours.extra = {
        us_per_decision: +(ours.medianMs * 1000).toFixed(2),
        cpu_us_per_decision: +(cpuMed * 1000).toFixed(2),
        decisions: n * batches,
      };
      const theirs = summarize(`opa bench ${s.name}`, peer);
      theirs.extra = { us_per_decision: +(theirs.medianMs * 1000).toFixed(2) };
      report(
        "rego-builtins",
        ours,
        theirs,
        `${s.name}; best rounds ${(theirs.minMs / ours.minMs).toFixed(2)}x; load ${loadavg()[0]!.toFixed(2)}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
