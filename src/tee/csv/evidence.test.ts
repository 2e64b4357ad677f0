import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { csvCertJson } from "../../../test/helpers/csv-test-pki.js";
import { evidenceCodeOf as codeOf } from "../../../test/helpers/evidence-code.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import {
  ATTESTATION_EXT_MAGIC,
  CSV_CERT_SIZE,
  CSV_HSK_CEK_SIZE,
  csvReportVersion,
  encodeCsvCertJson,
  parseCsvCaCert,
  parseCsvCert,
  parseCsvEvidence,
  parseCsvHskCek,
  parseCsvReport,
} from "./index.js";

const P = "fixtures/evidence/csv/csv_evidence.json";
type EvJson = Record<string, unknown> & {
  attestation_report: Record<string, unknown> & { data: number[] };
  cert_chain: Record<string, unknown> & { pek: { sigs: unknown[] } };
};
const capture = (): EvJson => JSON.parse(readFileSync(sharedPath(P), "utf8"));

describe("CSV evidence parsing", { skip: sharedSkip(P) }, () => {
  test("parses the real capture: a version 1 report, its PEK, the chip serial number", () => {
    const ev = parseCsvEvidence(capture());
    assert.equal(ev.report.version, 1);
    assert.equal(ev.report.anonce, 0x5dc7d726);
    assert.equal(ev.serialNumber, "KPA64911240507");
    assert.equal(Buffer.from(ev.pek.userId).toString(), "HYGON-SSD-PEK");
    assert.equal(ev.pek.usage, 0x1002);
    assert.deepEqual(
      ev.pek.sigs.map((s) => s.usage),
      [0x1004, 0x1001],
    );
    assert.equal(ev.hskCek, undefined);
    // The attester copies the PEK out of the report's signer block: both agree.
    assert.deepEqual(ev.report.signer.pekCert, ev.pek.bytes);
    assert.equal(ev.ccEventlog?.length, 77);
  });

  test("certificate JSON re-encodes to the bytes the report carries and back", () => {
    const j = capture();
    const bytes = encodeCsvCertJson(j.cert_chain.pek, "pek");
    assert.equal(bytes.length, CSV_CERT_SIZE);
    assert.deepEqual(csvCertJson(bytes), j.cert_chain.pek);
  });

  test("the wrapper's magic and flags select the version as csv-rs does", () => {
    const ext = ATTESTATION_EXT_MAGIC;
    assert.equal(csvReportVersion(new Uint8Array(16), 7), 1);
    assert.equal(csvReportVersion(ext, 0), 1);
    assert.equal(csvReportVersion(ext, 1), 2);
    assert.equal(
      codeOf(() => csvReportVersion(ext, 3)),
      "ERR_EVIDENCE_UNSUPPORTED",
    );
    assert.equal(
      codeOf(() => csvReportVersion(ext, 2)),
      "ERR_EVIDENCE_MALFORMED",
    );
    assert.equal(
      codeOf(() => csvReportVersion(new Uint8Array(16).fill(1), 0)),
      "ERR_EVIDENCE_MALFORMED",
    );
  });

  test("truncated, oversized and garbage reports and certificates are refused with codes", () => {
    const data = new Uint8Array(capture().attestation_report.data);
    const z = new Uint8Array(16);
    assert.equal(
      codeOf(() => parseCsvReport(z, 0, data.subarray(0, 4095))),
      "ERR_EVIDENCE_TRUNCATED",
    );
    assert.equal(
      codeOf(() => parseCsvReport(z, 0, new Uint8Array(4097))),
      "ERR_EVIDENCE_OVERSIZE",
    );
    assert.equal(
      codeOf(() => parseCsvCert(new Uint8Array(100))),
      "ERR_EVIDENCE_TRUNCATED",
    );
    assert.equal(
      codeOf(() => parseCsvCert(new Uint8Array(CSV_CERT_SIZE + 1))),
      "ERR_EVIDENCE_OVERSIZE",
    );
    assert.equal(
      codeOf(() => parseCsvCaCert(new Uint8Array(831))),
      "ERR_EVIDENCE_TRUNCATED",
    );
    // A user-ID length past its 254-byte field.
    const pek = Uint8Array.from(encodeCsvCertJson(capture().cert_chain.pek, "pek"));
    pek[164] = 0xff;
    assert.equal(
      codeOf(() => parseCsvCert(pek)),
      "ERR_EVIDENCE_MALFORMED",
    );
    assert.equal(
      codeOf(() => parseCsvHskCek(new Uint8Array(CSV_HSK_CEK_SIZE - 1))),
      "ERR_EVIDENCE_TRUNCATED",
    );
    assert.equal(
      codeOf(() => parseCsvHskCek(new Uint8Array(CSV_HSK_CEK_SIZE + 1))),
      "ERR_EVIDENCE_OVERSIZE",
    );
  });

  test("malformed evidence JSON names the field", () => {
    const cases: [string, (j: EvJson) => unknown][] = [
      ["not an object", () => "csv"],
      ["no report", (j) => ({ ...j, attestation_report: undefined })],
      [
        "short data",
        (j) => ({ ...j, attestation_report: { ...j.attestation_report, data: [1, 2] } }),
      ],
      [
        "non-byte",
        (j) => {
          j.attestation_report.data[5] = 256;
          return j;
        },
      ],
      [
        "float flags",
        (j) => ({ ...j, attestation_report: { ...j.attestation_report, flags: 0.5 } }),
      ],
      [
        "pek sigs",
        (j) => {
          j.cert_chain.pek.sigs.pop();
          return j;
        },
      ],
      ["hsk_cek shape", (j) => ({ ...j, cert_chain: { ...j.cert_chain, hsk_cek: { hsk: 1 } } })],
      ["empty serial", (j) => ({ ...j, serial_number: [] })],
      ["serial with a slash", (j) => ({ ...j, serial_number: [...Buffer.from("../etc")] })],
      ["serial with a NUL inside", (j) => ({ ...j, serial_number: [65, 0, 66] })],
      ["long serial", (j) => ({ ...j, serial_number: new Array(65).fill(65) })],
      ["eventlog type", (j) => ({ ...j, cc_eventlog: 5 })],
      ["eventlog base64", (j) => ({ ...j, cc_eventlog: "%%%" })],
    ];
    for (const [name, f] of cases) {
      const code = codeOf(() => parseCsvEvidence(f(capture())));
      assert.equal(code, "ERR_EVIDENCE_MALFORMED", name);
    }
    // Upstream serialises an absent hsk_cek as a missing key; null is read the same way.
    assert.equal(
      parseCsvEvidence({ ...capture(), cert_chain: { ...capture().cert_chain, hsk_cek: null } })
        .hskCek,
      undefined,
    );
  });
});
