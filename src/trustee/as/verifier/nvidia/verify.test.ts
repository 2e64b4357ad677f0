import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { evidenceCodeOf as codeOf } from "../../../../../test/helpers/evidence-code.js";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { parseCertificate } from "../../../../tee/common/certs.js";
import {
  type NvidiaDeviceEvidence,
  parseNvidiaEvidence,
  parseNvidiaReport,
} from "../../../../tee/nvidia/index.js";
import {
  createNvidiaVerifier,
  fwidOf,
  parseNvidiaReferenceMeasurements,
  verifyNvidiaChain,
  verifyNvidiaDevice,
} from "./index.js";

const F = "fixtures/evidence/nvidia/";
const skip = sharedSkip(`${F}hopperAttestationReport.txt`);
const text = (n: string) => readFileSync(sharedPath(F + n), "utf8");
const NONCE = Buffer.from(
  "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
  "hex",
);
const COCO_NONCE = Buffer.from(
  "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fece279b616efefc2aae21da80cf5581250",
  "hex",
);
const FWID =
  "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d";

function evidence(
  report = text("hopperAttestationReport.txt"),
  chain = text("hopper_cert_chain_case1.txt"),
) {
  return {
    device_evidence_list: [
      {
        arch: "HOPPER",
        uuid: "1111-2222-33333-444444-555555",
        evidence: report,
        certificate: Buffer.from(chain).toString("base64"),
      },
    ],
  };
}
const device = (report?: string, chain?: string): NvidiaDeviceEvidence =>
  parseNvidiaEvidence(evidence(report, chain))[0] as NvidiaDeviceEvidence;

test("the Hopper sample report verifies and gives exactly upstream's claims", { skip }, () => {
  const claims = verifyNvidiaDevice(device(), { expectedReportData: NONCE });
  assert.deepEqual(claims, JSON.parse(text("hopperAttestationReport-claims.txt")));
});

test("the Hopper report from CoCo CI verifies with its 48-byte report data (first 32 used)", {
  skip,
}, () => {
  const dev = device(text("hopper_coco_report1.txt"), text("hopper_coco_certs1.txt"));
  const claims = verifyNvidiaDevice(dev, { expectedReportData: COCO_NONCE });
  assert.equal(claims.arch, "Hopper");
  assert.equal(Object.keys(claims.measurements as object).length, 64);
});

test("the four chain cases fail where upstream's do, each with its code", { skip }, () => {
  const clock = () => new Date();
  assert.ok(verifyNvidiaChain(text("hopper_cert_chain_case1.txt"), FWID, clock));
  assert.equal(
    codeOf(() => verifyNvidiaChain(text("hopper_cert_chain_case2.txt"), FWID, clock)),
    "ERR_CERT_MISSING",
  );
  assert.equal(
    codeOf(() => verifyNvidiaChain(text("hopper_cert_chain_case3.txt"), FWID, clock)),
    "ERR_CERT_CHAIN",
  );
  assert.equal(
    codeOf(() => verifyNvidiaChain(text("hopper_cert_chain_case4.txt"), FWID, clock)),
    "ERR_CERT_EXTENSION",
  );
  // And through the whole device check.
  for (const [c, code] of [
    [2, "ERR_CERT_MISSING"],
    [3, "ERR_CERT_CHAIN"],
    [4, "ERR_CERT_EXTENSION"],
  ] as const) {
    assert.equal(
      codeOf(() =>
        verifyNvidiaDevice(device(undefined, text(`hopper_cert_chain_case${c}.txt`)), {
          expectedReportData: NONCE,
        }),
      ),
      code,
    );
  }
});

test("the signing certificate's FWID is the last 48 bytes of its TcbInfo extension", {
  skip,
}, () => {
  assert.equal(fwidOf(parseCertificate(text("hopper_signing_cert.pem"), "leaf")), FWID);
});

test("a chain that does not end in NVIDIA's pinned root is refused", {
  skip: skip || sharedSkip("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem"),
}, () => {
  const chain = text("hopper_cert_chain_case1.txt");
  const blocks = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const amd =
    readFileSync(sharedPath("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem"), "utf8").match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    ) ?? [];
  const foreign = [...blocks.slice(0, -1), amd[amd.length - 1]].join("\n");
  assert.equal(
    codeOf(() => verifyNvidiaChain(foreign, FWID, () => new Date())),
    "ERR_CERT_ROOT",
  );
});

test("every single-byte flip of the signed report is refused; FWID flips by the FWID binding", {
  skip,
}, () => {
  const hex = text("hopperAttestationReport.txt");
  const bytes = Buffer.from(hex, "hex");
  const report = parseNvidiaReport(new Uint8Array(bytes));
  const fwidAt = bytes.indexOf(Buffer.from(FWID, "hex"));
  assert.ok(fwidAt > 0);
  const hist = new Map<string, number>();
  const end = report.signedBytes.length + 96;
  for (let i = 0; i < end; i++) {
    const b = Buffer.from(bytes);
    b[i] = (b[i] as number) ^ 0x01;
    const code = codeOf(() =>
      verifyNvidiaDevice(device(b.toString("hex")), { expectedReportData: NONCE }),
    );
    assert.ok(code !== undefined, `flip at byte ${i} verified`);
    hist.set(code, (hist.get(code) ?? 0) + 1);
    if (i >= fwidAt && i < fwidAt + 48)
      assert.equal(code, "ERR_KEY_BINDING", `fwid byte ${i - fwidAt}`);
    if (i >= end - 96) assert.equal(code, "ERR_SIGNATURE", `signature byte ${i - end + 96}`);
    if (i >= 4 && i < 36) assert.equal(code, "ERR_SIGNATURE", `nonce byte ${i - 4}`);
  }
  assert.ok((hist.get("ERR_SIGNATURE") ?? 0) > 3500, JSON.stringify([...hist]));
});

test("a nonce that is not the expected report data is refused", { skip }, () => {
  const other = Buffer.from(NONCE);
  other[31] = (other[31] as number) ^ 1;
  assert.equal(
    codeOf(() => verifyNvidiaDevice(device(), { expectedReportData: other })),
    "ERR_REPORT_DATA_MISMATCH",
  );
  // Only the first 32 bytes of a longer digest are compared (upstream's regularize to 32).
  assert.equal(
    codeOf(() =>
      verifyNvidiaDevice(device(), {
        expectedReportData: Buffer.concat([NONCE, Buffer.alloc(16, 7)]),
      }),
    ),
    undefined,
  );
});

test("measurements are checked against reference values when given", { skip }, () => {
  const expected = JSON.parse(text("hopperAttestationReport-claims.txt")).measurements as Record<
    string,
    string
  >;
  const rv = Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, [v]]));
  const ok = parseNvidiaReferenceMeasurements(JSON.stringify(rv), "rv");
  assert.equal(
    codeOf(() =>
      verifyNvidiaDevice(device(), { expectedReportData: NONCE, referenceMeasurements: ok }),
    ),
    undefined,
  );
  const m10 = expected["10"] as string;
  const wrong = { ...rv, "10": [`${m10.slice(0, -2)}${m10.endsWith("00") ? "01" : "00"}`] };
  const bad = parseNvidiaReferenceMeasurements(JSON.stringify(wrong), "rv");
  assert.equal(
    codeOf(() =>
      verifyNvidiaDevice(device(), { expectedReportData: NONCE, referenceMeasurements: bad }),
    ),
    "ERR_MEASUREMENT_MISMATCH",
  );
  const { "12": _, ...missing } = rv;
  const partial = parseNvidiaReferenceMeasurements(JSON.stringify(missing), "rv");
  assert.equal(
    codeOf(() =>
      verifyNvidiaDevice(device(), { expectedReportData: NONCE, referenceMeasurements: partial }),
    ),
    "ERR_MEASUREMENT_MISMATCH",
  );
});

test("the parsers refuse truncated, oversized and garbage input with coded errors", {
  skip,
}, () => {
  const bytes = Buffer.from(text("hopperAttestationReport.txt"), "hex");
  for (let n = 0; n < bytes.length; n += 13) {
    assert.ok(
      codeOf(() => parseNvidiaReport(new Uint8Array(bytes.subarray(0, n)))),
      `truncated at ${n} parsed`,
    );
  }
  assert.equal(
    codeOf(() => parseNvidiaReport(new Uint8Array(70000))),
    "ERR_EVIDENCE_OVERSIZE",
  );
  const v10 = Buffer.from(bytes);
  v10[0] = 0x10;
  assert.equal(
    codeOf(() => parseNvidiaReport(new Uint8Array(v10))),
    "ERR_EVIDENCE_VERSION",
  );
  for (const bad of [
    null,
    {},
    { device_evidence_list: [] },
    { device_evidence_list: [{ arch: "VOLTA", evidence: "", certificate: "" }] },
    { device_evidence_list: [{ arch: "HOPPER", evidence: "zz!", certificate: "" }] },
  ]) {
    assert.equal(
      codeOf(() => parseNvidiaEvidence(bad)),
      "ERR_EVIDENCE_MALFORMED",
      JSON.stringify(bad),
    );
  }
  assert.equal(
    codeOf(() => verifyNvidiaDevice({ ...device(), arch: "LS10" })),
    "ERR_EVIDENCE_UNSUPPORTED",
  );
});

test("the AS verifier gives one gpu claim set per device and requires runtime data", {
  skip,
}, async () => {
  const v = createNvidiaVerifier();
  const two = evidence();
  two.device_evidence_list.push({
    ...(two.device_evidence_list[0] as (typeof two.device_evidence_list)[0]),
    uuid: "second",
  });
  const out = await v.evaluate({ tee: "nvidia", evidence: two, expectedReportData: NONCE });
  assert.deepEqual(
    out.map((r) => [r.teeClass, r.claims.uuid]),
    [
      ["gpu", "1111-2222-33333-444444-555555"],
      ["gpu", "second"],
    ],
  );
  await assert.rejects(
    v.evaluate({ tee: "nvidia", evidence: two, expectedReportData: new Uint8Array(0) }),
    { code: "ERR_VERIFIER_REPORT_DATA" },
  );
  await assert.rejects(
    v.evaluate({
      tee: "nvidia",
      evidence: evidence(undefined, text("hopper_cert_chain_case3.txt")),
      expectedReportData: NONCE,
    }),
    { code: "ERR_VERIFIER_CHAIN" },
  );
});
