import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { evidenceCodeOf as codeOf } from "../../../../../test/helpers/evidence-code.js";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { parseTpmEvidence } from "../../../../tee/tpm/index.js";
import { createTpmVerifier, verifyTpmEvidence } from "./index.js";

const P = "fixtures/evidence/tpm/tpm_evidence.json";
const skip = sharedSkip(P);
const json = () => JSON.parse(readFileSync(sharedPath(P), "utf8"));

test("upstream's TPM evidence verifies: 24 PCR claims, a 64-byte nonce, ak_public as sent", {
  skip,
}, () => {
  const ev = json();
  const claims = verifyTpmEvidence(parseTpmEvidence(ev));
  assert.equal((claims.report_data as string).length, 128); // upstream asserts 128 hex chars
  assert.equal(claims.ak_public, ev.ak_public);
  for (let i = 0; i < 24; i++)
    assert.equal(claims[`pcr${String(i).padStart(2, "0")}`], ev.tpm_quote.pcrs[i]);
  assert.equal(claims.init_data, ev.tpm_quote.pcrs[8]);
});

test("every single-byte flip of the quote message or signature fails the quote signature", {
  skip,
}, () => {
  const ev = json();
  for (const field of ["message", "signature"] as const) {
    const bytes = Buffer.from(ev.tpm_quote[field], "base64");
    // The signature's 6-byte TPMT header is algorithm and size: a flip there is a parse refusal.
    for (let i = field === "signature" ? 6 : 0; i < bytes.length; i++) {
      const b = Buffer.from(bytes);
      b[i] = (b[i] as number) ^ 0x01;
      const tampered = { ...ev, tpm_quote: { ...ev.tpm_quote, [field]: b.toString("base64") } };
      const code = codeOf(() => verifyTpmEvidence(parseTpmEvidence(tampered)));
      if (field === "signature")
        assert.equal(code, "ERR_TPM_QUOTE_SIGNATURE", `signature byte ${i}`);
      else
        assert.ok(
          code === "ERR_TPM_QUOTE_SIGNATURE" || code?.startsWith("ERR_EVIDENCE"),
          `message byte ${i}: ${code}`,
        );
    }
  }
});

test("a PCR value that the quote's digest does not cover is refused", { skip }, () => {
  const ev = json();
  const pcrs = [...ev.tpm_quote.pcrs];
  pcrs[11] = `01${pcrs[11].slice(2)}`;
  assert.equal(
    codeOf(() =>
      verifyTpmEvidence(parseTpmEvidence({ ...ev, tpm_quote: { ...ev.tpm_quote, pcrs } })),
    ),
    "ERR_TPM_PCR_DIGEST",
  );
});

test("nonce and init-data bindings fail with their codes", { skip }, () => {
  const e = parseTpmEvidence(json());
  // The capture's nonce is 64 bytes (an older attester's padding): no 32-byte digest matches it.
  assert.equal(
    codeOf(() => verifyTpmEvidence(e, { expectedReportData: e.info.extraData.subarray(0, 32) })),
    "ERR_TPM_NONCE",
  );
  assert.equal(
    codeOf(() => verifyTpmEvidence(e, { expectedInitDataHash: new Uint8Array(32) })),
    "ERR_INIT_DATA_MISMATCH",
  );
  assert.equal(
    codeOf(() => verifyTpmEvidence(e, { expectedInitDataHash: new Uint8Array(48) })),
    "ERR_INIT_DATA_LENGTH",
  );
  // PCR8 = SHA-256(0^32 ‖ d) is the rule: the capture's PCR8 is zero, so no digest matches.
  const d = new Uint8Array(createHash("sha256").update("x").digest());
  assert.equal(
    codeOf(() => verifyTpmEvidence(e, { expectedInitDataHash: d })),
    "ERR_INIT_DATA_MISMATCH",
  );
});

test("malformed TPM evidence is refused with coded errors", { skip }, () => {
  const ev = json();
  const cases: [unknown, string][] = [
    [null, "ERR_EVIDENCE_MALFORMED"],
    [{ ...ev, ak_public: 5 }, "ERR_EVIDENCE_MALFORMED"],
    [{ ...ev, ak_public: Buffer.from("junk").toString("base64") }, "ERR_TPM_AK"],
    [{ ...ev, tpm_quote: { ...ev.tpm_quote, pcrs: ["00"] } }, "ERR_EVIDENCE_MALFORMED"],
    [
      {
        ...ev,
        tpm_quote: {
          ...ev.tpm_quote,
          signature: Buffer.from([0, 0x16, 0, 0x0b, 0, 0]).toString("base64"),
        },
      },
      "ERR_EVIDENCE_UNSUPPORTED",
    ],
    [
      { ...ev, tpm_quote: { ...ev.tpm_quote, message: Buffer.from("abc").toString("base64") } },
      "ERR_EVIDENCE_TRUNCATED",
    ],
    [{ ...ev, eventlog: "!!" }, "ERR_EVIDENCE_MALFORMED"],
  ];
  for (const [input, code] of cases)
    assert.equal(
      codeOf(() => parseTpmEvidence(input)),
      code,
      JSON.stringify(input).slice(0, 80),
    );
});

test("the AS verifier skips the nonce without runtime data and maps codes", { skip }, async () => {
  const v = createTpmVerifier();
  const [r] = await v.evaluate({
    tee: "tpm",
    evidence: json(),
    expectedReportData: new Uint8Array(0),
  });
  assert.equal(r?.teeClass, "cpu");
  await assert.rejects(
    v.evaluate({ tee: "tpm", evidence: json(), expectedReportData: new Uint8Array(48) }),
    {
      code: "ERR_VERIFIER_REPORT_DATA",
    },
  );
});
