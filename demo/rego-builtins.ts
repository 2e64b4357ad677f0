/**
 * The Rego builtins beyond the core, end to end and offline: a KBS-style resource policy that
 * admits a request only with a valid ES256 token from a JWKS (`io.jwt.decode_verify`), an image
 * reference on an allow-list (`regex.match`), a client address inside the cluster network
 * (`net.cidr_contains`), a host name matching a glob (`glob.match`) and a token younger than a
 * day (`time.*`). Each decision is cross-checked against the real `opa` binary when present.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine, type JsonValue } from "../src/rego/index.js";
import { opaEval } from "./opa.js";

/** Options of {@link demoRegoBuiltins}. */
export interface RegoBuiltinsDemoContext {
  /** Path of the `opa` binary for the cross-check (default: .tools/bin/opa; skipped if absent). */
  opa?: string;
}

/** What the demo established. */
export interface RegoBuiltinsDemoResult {
  decisions: { what: string; allow: boolean; reasons: string[] }[];
  /** Decisions compared with OPA and found equal (0 when opa is absent). */
  matchedOpa: number;
}

const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");

const POLICY = `package resource
import rego.v1

default allow := false

allow if count(deny) == 0

deny contains "token signature, issuer or audience" if not token_ok
deny contains "token older than a day" if {
  token_ok
  time.now_ns() - (claims.iat * 1000000000) > time.parse_duration_ns("24h")
}
deny contains "image not on the allow-list" if {
  not regex.match("^registry\\\\.example\\\\.com/(team-a|team-b)/[a-z0-9-]+@sha256:[a-f0-9]{64}$", input.image)
}
deny contains "client outside the cluster network" if not net.cidr_contains("10.0.0.0/8", input.client_ip)
deny contains "host is not a cluster service" if not glob.match("*.svc.cluster.local", ["."], input.host)

verified := io.jwt.decode_verify(input.token, {"cert": data.jwks, "iss": "https://idp.example.com", "aud": "kbs"})
token_ok if verified[0]
claims := verified[2]
`;

const b64 = (s: string) => Buffer.from(s).toString("base64url");

/** Runs the builtins demo, logging one line per step. */
export async function demoRegoBuiltins(
  log: (line: string) => void,
  ctx: RegoBuiltinsDemoContext = {},
): Promise<RegoBuiltinsDemoResult> {
  const opa = ctx.opa ?? join(repo, ".tools", "bin", "opa");
  const kp = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwks = JSON.stringify({
    keys: [{ ...kp.publicKey.export({ format: "jwk" }), kid: "idp-1", alg: "ES256" }],
  });
  const now = Math.floor(Date.now() / 1000);
  const token = (claims: object, key = kp.privateKey) => {
    const head = `${b64('{"alg":"ES256","kid":"idp-1","typ":"JWT"}')}.${b64(JSON.stringify(claims))}`;
    const sig = sign("sha256", Buffer.from(head), { key, dsaEncoding: "ieee-p1363" });
    return `${head}.${sig.toString("base64url")}`;
  };
  const good = {
    iss: "https://idp.example.com",
    aud: "kbs",
    iat: now - 60,
    exp: now + 3600,
    sub: "pod-7",
  };
  const base = {
    token: token(good),
    image: `registry.example.com/team-a/inference@sha256:${"ab".repeat(32)}`,
    client_ip: "10.12.0.7",
    host: "kbs.svc.cluster.local",
  };
  const cases: { what: string; input: Record<string, JsonValue> }[] = [
    { what: "valid request", input: base },
    {
      what: "token signed by another key",
      input: {
        ...base,
        token: token(good, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey),
      },
    },
    { what: "stale token", input: { ...base, token: token({ ...good, iat: now - 3 * 86400 }) } },
    {
      what: "image by tag, not digest",
      input: { ...base, image: "registry.example.com/team-a/inference:latest" },
    },
    {
      what: "client outside 10.0.0.0/8, host outside the cluster",
      input: { ...base, client_ip: "192.168.1.4", host: "kbs.example.com" },
    },
  ];

  const engine = createEngine();
  engine.setStrictBuiltinErrors(true);
  engine.addPolicy("resource.rego", POLICY);
  engine.addData({ jwks });
  engine.prepare();
  const dir = mkdtempSync(join(tmpdir(), "rego-builtins-demo-"));
  const decisions: RegoBuiltinsDemoResult["decisions"] = [];
  let matchedOpa = 0;
  try {
    for (const c of cases) {
      engine.setInput(c.input);
      const result = engine.evalQuery(
        'x := {"allow": data.resource.allow, "deny": data.resource.deny}',
      );
      const v = result.result?.[0]?.bindings.x as { allow: boolean; deny: string[] } | undefined;
      if (!v) throw new Error(`${c.what}: no decision`);
      decisions.push({ what: c.what, allow: v.allow, reasons: v.deny });
      log(
        `${c.what}: ${v.allow ? "ALLOW" : "DENY"}${v.deny.length ? ` (${v.deny.join("; ")})` : ""}`,
      );
      if (existsSync(opa)) {
        const out = opaEval(
          opa,
          dir,
          { policy: POLICY, data: { jwks }, input: c.input },
          'x := {"allow": data.resource.allow, "deny": data.resource.deny}',
        );
        const theirs = out.result?.[0]?.bindings.x as
          | { allow: boolean; deny: string[] }
          | undefined;
        if (
          !theirs ||
          theirs.allow !== v.allow ||
          JSON.stringify([...theirs.deny].sort()) !== JSON.stringify([...v.deny].sort())
        ) {
          throw new Error(
            `${c.what}: coco-ts ${JSON.stringify(v)} but opa ${JSON.stringify(theirs)}`,
          );
        }
        matchedOpa++;
        log("  opa agrees");
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!decisions[0]?.allow || decisions.slice(1).some((d) => d.allow)) {
    throw new Error("rego-builtins demo: only the valid request may be allowed");
  }
  return { decisions, matchedOpa };
}
