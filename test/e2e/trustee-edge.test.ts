/**
 * Trustee edges: HTTPS listeners from the config, the InsecureAllowAll loopback rule, and
 * composite evidence (a sample CPU plus a sampledevice GPU in one attestation).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import canonicalize from "canonicalize";
import { createRegoPolicyEngine } from "../../src/trustee/as/policy/rego-engine.js";
import { parseTrusteeConfig } from "../../src/trustee/config.js";
import { startTrustee } from "../../src/trustee/trustee.js";
import { createVerifiersFromConfig } from "../../src/trustee/verifiers.js";
import { sharedPath, sharedSkip } from "../helpers/paths.js";
import { makeTestTls } from "../helpers/tls.js";
import { handshake, jwtPayload } from "./trustee-client.js";

const dir = mkdtempSync(join(tmpdir(), "coco-trustee-edge-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = (extra: string) => `
[http_server]
sockets = ["127.0.0.1:0"]
${extra}
[admin]
authorization_mode = "InsecureAllowAll"
[[plugins]]
name = "resource"
`;

test("serves HTTPS with the configured certificate and key", async () => {
  const tls = await makeTestTls();
  writeFileSync(join(dir, "cert.pem"), tls.certPem);
  writeFileSync(join(dir, "key.pem"), tls.keyPem, { mode: 0o600 });
  const t = await startTrustee({
    config: parseTrusteeConfig(
      base(
        `private_key = "${join(dir, "key.pem")}"\ncertificate = "${join(dir, "cert.pem")}"\ntls_min_version = "1.3"`,
      ),
    ),
    policyEngine: createRegoPolicyEngine(),
  });
  try {
    const url = t.urls[0] as string;
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${url}/kbs/v0/auth`,
        { method: "POST", ca: tls.caPem, headers: { "content-type": "application/json" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ version: "0.4.0", tee: "sample", "extra-params": "" }));
    });
    assert.equal(status, 200);
    await assert.rejects(fetch(`${url}/healthz`));
  } finally {
    await t.close();
  }
});

test("InsecureAllowAll is refused on a non-loopback socket", async () => {
  const cfg = parseTrusteeConfig(base("insecure_http = true").replace("127.0.0.1:0", "0.0.0.0:0"));
  await assert.rejects(startTrustee({ config: cfg, policyEngine: createRegoPolicyEngine() }), {
    code: "ERR_TRUSTEE_CONFIG",
    message: /InsecureAllowAll.*refused on non-loopback/,
  });
});

/**
 * Replaces the attestation's evidence with sample CPU evidence bound to its runtime data plus a
 * sampledevice report (svn 2) whose report_data is `deviceReportData`, as composite evidence.
 */
function withDeviceEvidence(att: Record<string, unknown>, deviceReportData: Buffer): void {
  const rd = att["runtime-data"] as { nonce: string; "tee-pubkey": unknown };
  const additional = JSON.stringify({
    sampledevice: { svn: "2", report_data: deviceReportData.toString("base64") },
  });
  const primary = createHash("sha384")
    .update(
      canonicalize({
        nonce: rd.nonce,
        "tee-pubkey": rd["tee-pubkey"],
        "additional-evidence": additional,
      }) as string,
    )
    .digest();
  att["tee-evidence"] = {
    primary_evidence: { svn: "1", report_data: primary.toString("base64") },
    additional_evidence: additional,
  };
}

test("composite evidence: a sampledevice GPU next to the sample CPU gives submods cpu0 and gpu0", async () => {
  const logs: string[] = [];
  const t = await startTrustee({
    config: parseTrusteeConfig(base("insecure_http = true")),
    policyEngine: createRegoPolicyEngine(),
    log: (l) => logs.push(l),
  });
  try {
    const url = t.urls[0] as string;
    assert.ok(logs.some((l) => /WARNING: admin API is open/.test(l)));
    let deviceDigest = Buffer.alloc(0);
    const h = await handshake(url, {
      tamper: (att) => {
        const rd = att["runtime-data"] as { nonce: string; "tee-pubkey": unknown };
        deviceDigest = createHash("sha384")
          .update(canonicalize({ nonce: rd.nonce, "tee-pubkey": rd["tee-pubkey"] }) as string)
          .digest();
        withDeviceEvidence(att, deviceDigest);
      },
    });
    assert.equal(h.attest.status, 200, h.attest.text);
    const submods = (
      jwtPayload(h.token as string) as { submods: Record<string, Record<string, unknown>> }
    ).submods;
    assert.deepEqual(Object.keys(submods).sort(), ["cpu0", "gpu0"]);
    const gpu = submods.gpu0?.["ear.veraison.annotated-evidence"] as Record<string, unknown>;
    assert.deepEqual(gpu.sampledevice, { svn: "2" });
    assert.equal(gpu.report_data, deviceDigest.toString("base64"));
    // The device's runtime data has no additional-evidence member.
    assert.deepEqual(Object.keys(gpu.runtime_data_claims as object).sort(), [
      "nonce",
      "tee-pubkey",
    ]);
    // Device evidence bound to the wrong digest is refused.
    const bad = await handshake(url, {
      tamper: (att) => withDeviceEvidence(att, Buffer.alloc(48)),
    });
    assert.equal(bad.attest.status, 401);
    assert.match((bad.attest.body as { detail: string }).detail, /sampledevice: report_data/);
  } finally {
    await t.close();
  }
});

const fixtures = "fixtures/evidence";
const hwSkip = sharedSkip(fixtures) || sharedSkip("fixtures/roots/amd");

test("hardware verifiers from verifier_config run inside the KBS; real evidence bound to another nonce is refused", {
  skip: hwSkip,
}, async () => {
  const cfg = parseTrusteeConfig(
    `${base("insecure_http = true")}
[attestation_service.verifier_config.snp_verifier]
vendor_certs_dir = "${sharedPath("fixtures/roots/amd")}"

[attestation_service.verifier_config.dcap_verifier]
`,
  );
  const logs: string[] = [];
  const t = await startTrustee({
    config: cfg,
    policyEngine: createRegoPolicyEngine(),
    log: (l) => logs.push(l),
  });
  try {
    const url = t.urls[0] as string;
    assert.ok(logs.some((l) => /TCB status is not appraised/.test(l)));
    const cases: [string, unknown][] = [
      [
        "az-snp-vtpm",
        JSON.parse(readFileSync(sharedPath(`${fixtures}/az-snp-vtpm/evidence-v2.json`), "utf8")),
      ],
      [
        "tdx",
        {
          quote: readFileSync(sharedPath(`${fixtures}/tdx/tdx_quote_4.dat`)).toString("base64"),
          cc_eventlog: null,
        },
      ],
      [
        "sgx",
        { quote: readFileSync(sharedPath(`${fixtures}/sgx/occlum_quote.dat`)).toString("base64") },
      ],
    ];
    for (const [tee, evidence] of cases) {
      const h = await handshake(url, { tee, evidence: () => evidence });
      assert.equal(h.attest.status, 401, `${tee}: ${h.attest.text}`);
      const detail = (h.attest.body as { detail: string }).detail;
      assert.match(
        detail,
        /RCAR handshake Attest failed: report-data binding failed/,
        `${tee}: ${detail}`,
      );
    }
  } finally {
    await t.close();
  }
});

test("verifier_config refuses what is not implemented, by name", () => {
  for (const [extra, re] of [
    [
      '[attestation_service.verifier_config.nvidia_verifier]\ntype = "Remote"\n',
      /"Remote" \(NVIDIA NRAS\) is not implemented/,
    ],
    [
      "[attestation_service.verifier_config.hygon_dcu_verifier]\n",
      /hygon_dcu_verifier is not implemented/,
    ],
    [
      '[attestation_service.verifier_config.dcap_verifier]\ncollateral_service = "file:///pcs.json"\n',
      /collateral_service must be an http\(s\) URL/,
    ],
    [
      '[attestation_service.verifier_config.cca_verifier]\ntype = "remote"\n',
      /"remote" .*not implemented/,
    ],
  ] as const) {
    const cfg = parseTrusteeConfig(`${base("insecure_http = true")}\n${extra}`);
    assert.throws(() => createVerifiersFromConfig(cfg.attestationService.verifierConfig), re);
  }
});
