/**
 * Composite evidence end to end through our Trustee over loopback HTTP: a CPU (the sample TEE)
 * with an NVIDIA Hopper GPU in `additional_evidence`, each bound to the same runtime data, one
 * EAR submod per device appraised by the default CPU/GPU policies, and a resource released only
 * when the resource policy `affirming_gpu` sees the CPU and the GPU both affirming.
 *
 * The GPU report is the real Hopper capture with a fresh nonce, re-signed by a device key whose
 * certificate carries the real leaf's TcbInfo (FWID) extension under a root made here: a capture
 * cannot be bound to a new session's nonce, and only NVIDIA holds the real key. The verifier is
 * told to trust that root through its test-only `rootSha256` option.
 */
import assert from "node:assert/strict";
import { createHash, createPrivateKey, type KeyObject, sign, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import canonicalize from "canonicalize";
import { generateTeeKeyPair } from "../../src/crypto/jwe.js";
import { x509 } from "../../src/crypto/x509.js";
import { parseNvidiaReport } from "../../src/tee/nvidia/index.js";
import { RESOURCE_POLICY_AFFIRMING_GPU } from "../../src/trustee/as/index.js";
import { createRegoPolicyEngine } from "../../src/trustee/as/policy/rego-engine.js";
import { createNvidiaVerifier } from "../../src/trustee/as/verifier/nvidia/index.js";
import { createSampleVerifier } from "../../src/trustee/as/verifier/sample/verifier.js";
import { parseTrusteeConfig } from "../../src/trustee/config.js";
import { type RunningTrustee, startTrustee } from "../../src/trustee/trustee.js";
import { sharedPath, sharedSkip } from "../helpers/paths.js";
import { call, cookieOf, getResource, type Handshake, jwtPayload } from "./trustee-client.js";

const F = "fixtures/evidence/nvidia/";
const skip = sharedSkip(`${F}hopperAttestationReport.txt`);
const ALG = { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" } as const;
const secret = "gpu-model-weights-key";

let trustee: RunningTrustee | undefined;
let base = "";
let chainPem = "";
let leafKey: KeyObject;
let rootSha256 = "";
let realReport: Uint8Array;

async function makeGpuPki(): Promise<string> {
  const { subtle } = webcrypto;
  const gen = async () =>
    (await subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const rootKeys = await gen();
  const leafKeys = await gen();
  const realLeaf = new x509.X509Certificate(
    readFileSync(sharedPath(`${F}hopper_signing_cert.pem`), "utf8"),
  );
  const tcbInfo = realLeaf.getExtension("2.23.133.5.4.1");
  assert.ok(tcbInfo);
  const common = {
    notBefore: new Date("2024-01-01T00:00:00Z"),
    notAfter: new Date("2040-01-01T00:00:00Z"),
    signingAlgorithm: ALG,
  };
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    ...common,
    serialNumber: "01",
    name: "CN=Test GPU Root",
    keys: rootKeys,
    extensions: [new x509.BasicConstraintsExtension(true, 2, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    ...common,
    serialNumber: "02",
    subject: "CN=Test GH100 FMC LF",
    issuer: root.subject,
    publicKey: leafKeys.publicKey,
    signingKey: rootKeys.privateKey,
    extensions: [new x509.Extension("2.23.133.5.4.1", false, tcbInfo.value)],
  });
  const pkcs8 = await subtle.exportKey("pkcs8", leafKeys.privateKey);
  leafKey = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
  rootSha256 = createHash("sha256").update(new Uint8Array(root.rawData)).digest("hex");
  return `${leaf.toString("pem")}\n${root.toString("pem")}\n`;
}

/** The real Hopper report with `nonce` in its request, re-signed by the test device key. */
function gpuReport(nonce: Uint8Array): string {
  const bytes = Buffer.from(realReport);
  Buffer.from(nonce.subarray(0, 32)).copy(bytes, 4);
  const parsed = parseNvidiaReport(new Uint8Array(bytes));
  const end = parsed.signedBytes.length;
  const sig = sign("sha384", bytes.subarray(0, end), { key: leafKey, dsaEncoding: "ieee-p1363" });
  sig.copy(bytes, end);
  return bytes.toString("hex");
}

interface Composite {
  gpu?: "bound" | "other-nonce" | "absent";
  svn?: string;
}

/** Auth + attest with sample CPU evidence and (optionally) NVIDIA GPU evidence. */
async function composite(o: Composite = {}): Promise<Handshake> {
  const { publicJwk, privateKey } = generateTeeKeyPair("ec-p256");
  const auth = await call(`${base}/kbs/v0/auth`, "POST", {
    version: "0.4.0",
    tee: "sample",
    "extra-params": { "supported-hash-algorithms": ["sha384"] },
  });
  assert.equal(auth.status, 200, auth.text);
  const nonce = (auth.body as { nonce: string }).nonce;
  const cookie = cookieOf(auth.setCookie);
  // Devices first: their digest binds nonce + TEE key (protocol 0.4.0 §runtime data).
  const deviceDigest = createHash("sha384")
    .update(canonicalize({ nonce, "tee-pubkey": publicJwk }) as string)
    .digest();
  let additional = "";
  if ((o.gpu ?? "bound") !== "absent") {
    const bound =
      o.gpu === "other-nonce"
        ? createHash("sha384").update("another session").digest()
        : deviceDigest;
    additional = JSON.stringify({
      nvidia: {
        device_evidence_list: [
          {
            arch: "HOPPER",
            uuid: "GPU-test-0",
            evidence: gpuReport(bound),
            certificate: Buffer.from(chainPem).toString("base64"),
          },
        ],
      },
    });
  }
  const rd = createHash("sha384")
    .update(
      canonicalize({ "tee-pubkey": publicJwk, nonce, "additional-evidence": additional }) as string,
    )
    .digest();
  const attest = await call(
    `${base}/kbs/v0/attest`,
    "POST",
    {
      "runtime-data": { nonce, "tee-pubkey": publicJwk },
      "tee-evidence": {
        primary_evidence: { svn: o.svn ?? "1", report_data: rd.toString("base64") },
        additional_evidence: additional,
      },
    },
    { cookie },
  );
  const h: Handshake = { cookie, nonce, publicJwk, privateKey, attest, hash: "sha384" };
  if (attest.status === 200) {
    h.token = (attest.body as { token: string }).token;
    h.cookie = cookieOf(attest.setCookie);
  }
  return h;
}

before(async () => {
  if (skip) return;
  realReport = new Uint8Array(
    Buffer.from(readFileSync(sharedPath(`${F}hopperAttestationReport.txt`), "utf8"), "hex"),
  );
  chainPem = await makeGpuPki();
  trustee = await startTrustee({
    config: parseTrusteeConfig(`
[http_server]
sockets = ["127.0.0.1:0"]
insecure_http = true
[admin]
authorization_mode = "InsecureAllowAll"
[[plugins]]
name = "resource"
`),
    policyEngine: createRegoPolicyEngine(),
    verifiers: [createSampleVerifier("sample"), createNvidiaVerifier({ rootSha256 })],
  });
  base = trustee.urls[0] as string;
  const put = await call(
    `${base}/kbs/v0/resource/default/gpu/key`,
    "POST",
    new TextEncoder().encode(secret),
  );
  assert.equal(put.status, 200, put.text);
  const policy = await call(`${base}/kbs/v0/resource-policy`, "POST", {
    policy: Buffer.from(RESOURCE_POLICY_AFFIRMING_GPU).toString("base64url"),
  });
  assert.equal(policy.status, 200, policy.text);
  const claims = JSON.parse(
    readFileSync(sharedPath(`${F}hopperAttestationReport-claims.txt`), "utf8"),
  );
  const rvs = {
    svn: ["1"],
    launch_digest: ["abcde"],
    major_version: 1,
    minimum_minor_version: 0,
    nvidia_gpu_measurements: Object.fromEntries(
      Object.entries(claims.measurements).map(([k, v]) => [k, [v]]),
    ),
    allowed_vbios_versions: [claims.config.vbios_version],
    allowed_driver_versions: [claims.config.driver_version],
  };
  const reg = await call(`${base}/kbs/v0/reference-value`, "POST", {
    version: "0.1.0",
    type: "sample",
    payload: Buffer.from(JSON.stringify(rvs)).toString("base64"),
  });
  assert.equal(reg.status, 200, reg.text);
});

after(async () => {
  await trustee?.close();
});

describe("composite CPU + GPU evidence through Trustee", { skip }, () => {
  test("both affirming: one submod per device, and the resource is released", async () => {
    const h = await composite();
    assert.equal(h.attest.status, 200, h.attest.text);
    const submods = (
      jwtPayload(h.token as string) as { submods: Record<string, Record<string, unknown>> }
    ).submods;
    assert.deepEqual(Object.keys(submods).sort(), ["cpu0", "gpu0"]);
    assert.equal(submods.cpu0?.["ear.status"], "affirming");
    assert.equal(submods.gpu0?.["ear.status"], "affirming");
    const gpu = submods.gpu0?.["ear.veraison.annotated-evidence"] as Record<
      string,
      Record<string, unknown>
    >;
    assert.equal(gpu.nvidia?.arch, "Hopper");
    assert.equal(gpu.nvidia?.uuid, "GPU-test-0");
    const { answer, plaintext } = await getResource(base, "default/gpu/key", h);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(new TextDecoder().decode(plaintext), secret);
  });

  test("a GPU whose driver version is not an allowed one is not affirming: no release", async () => {
    const reg = await call(`${base}/kbs/v0/reference-value`, "POST", {
      version: "0.1.0",
      type: "sample",
      payload: Buffer.from(JSON.stringify({ allowed_driver_versions: ["535.00.00"] })).toString(
        "base64",
      ),
    });
    assert.equal(reg.status, 200);
    try {
      const h = await composite();
      assert.equal(h.attest.status, 200, h.attest.text);
      const submods = (
        jwtPayload(h.token as string) as { submods: Record<string, Record<string, unknown>> }
      ).submods;
      assert.equal(submods.cpu0?.["ear.status"], "affirming");
      assert.equal(submods.gpu0?.["ear.status"], "warning");
      const { answer } = await getResource(base, "default/gpu/key", h);
      assert.equal(answer.status, 401);
      assert.match(answer.text, /PolicyDeny/);
    } finally {
      const claims = JSON.parse(
        readFileSync(sharedPath(`${F}hopperAttestationReport-claims.txt`), "utf8"),
      );
      await call(`${base}/kbs/v0/reference-value`, "POST", {
        version: "0.1.0",
        type: "sample",
        payload: Buffer.from(
          JSON.stringify({ allowed_driver_versions: [claims.config.driver_version] }),
        ).toString("base64"),
      });
    }
  });

  test("a CPU that is not affirming withholds the resource even with an affirming GPU", async () => {
    const h = await composite({ svn: "7" });
    assert.equal(h.attest.status, 200, h.attest.text);
    const submods = (
      jwtPayload(h.token as string) as { submods: Record<string, Record<string, unknown>> }
    ).submods;
    assert.notEqual(submods.cpu0?.["ear.status"], "affirming");
    assert.equal(submods.gpu0?.["ear.status"], "affirming");
    assert.equal((await getResource(base, "default/gpu/key", h)).answer.status, 401);
  });

  test("without GPU evidence the resource policy refuses", async () => {
    const h = await composite({ gpu: "absent" });
    assert.equal(h.attest.status, 200, h.attest.text);
    assert.deepEqual(Object.keys((jwtPayload(h.token as string) as { submods: object }).submods), [
      "cpu0",
    ]);
    assert.equal((await getResource(base, "default/gpu/key", h)).answer.status, 401);
  });

  test("GPU evidence bound to another session's runtime data fails attestation", async () => {
    const h = await composite({ gpu: "other-nonce" });
    assert.equal(h.attest.status, 401);
    assert.match(h.attest.text, /report-data binding failed: nvidia: \[ERR_REPORT_DATA_MISMATCH\]/);
  });
});
