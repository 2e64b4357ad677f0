import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  buildSm3EventLog,
  type CsvTestPki,
  caCertJson,
  createCsvTestPki,
  csvCertJson,
  opensslSm2Skip,
  replaySm3,
} from "../../../../../test/helpers/csv-test-pki.js";
import { evidenceCodeOf as codeOf } from "../../../../../test/helpers/evidence-code.js";
import { startKdsStandIn } from "../../../../../test/helpers/kds.js";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import type { EvidenceError } from "../../../../tee/common/errors.js";
import {
  ATTESTATION_EXT_MAGIC,
  parseCsvCaCert,
  parseCsvEvidence,
  TEE_INFO,
  TEE_INFO_V1,
  TEE_INFO_V2,
} from "../../../../tee/csv/index.js";
import { createCollateralCache } from "../../../collateral/index.js";
import { createRvps } from "../../../rvps/rvps.js";
import { createMemoryStore } from "../../../storage/memory.js";
import { createRegoPolicyEngine } from "../../policy/rego-engine.js";
import { createAttestationPolicyStore } from "../../policy/store.js";
import { createAttestationService } from "../../service.js";
import { createEarBroker } from "../../token/ear-broker.js";
import {
  assertHygonRoot,
  createCsvVerifier,
  HYGON_HRK_SHA256,
  hskCekPath,
  hygonRootBytes,
  shippedHygonRoot,
  verifyCsvEvidence,
} from "./index.js";

const P = "fixtures/evidence/csv/csv_evidence.json";
type Json = Record<string, unknown> & {
  attestation_report: { magic: number[]; flags: number; data: number[] };
  cert_chain: Record<string, unknown>;
};
const capture = (): Json => JSON.parse(readFileSync(sharedPath(P), "utf8"));

/** The capture with byte `i` of its report page XORed with `x`. */
function flipped(ev: Json, i: number, x = 0x01): Json {
  const data = [...ev.attestation_report.data];
  data[i] = (data[i] as number) ^ x;
  return { ...ev, attestation_report: { ...ev.attestation_report, data } };
}

describe("Hygon CSV: the real capture (../shared)", { skip: sharedSkip(P) }, () => {
  test("is refused as chain unverifiable when no HSK/CEK can be had", () => {
    const ev = parseCsvEvidence(capture());
    assert.equal(ev.hskCek, undefined);
    assert.throws(
      () => verifyCsvEvidence(ev),
      (e: EvidenceError) => e.code === "ERR_CERT_MISSING" && /chain unverifiable/.test(e.message),
    );
  });

  test("with PEK-only trust allowed, its report verifies under its PEK with upstream's claims", () => {
    const claims = verifyCsvEvidence(parseCsvEvidence(capture()), { allowPekOnly: true });
    // Upstream's claim names and encodings (Trustee csv verifier, version 1 report): fields
    // XOR-decoded with the anonce, policy bits as numbers, u32s as little-endian hex.
    assert.deepEqual(claims, {
      version: "1",
      policy: {
        nodbg: 1,
        noks: 0,
        es: 1,
        nosend: 0,
        domain: 0,
        csv: 0,
        csv3: 1,
        asid_reuse: 0,
        hsk_version: 0,
        cek_version: 0,
        api_major: 0,
        api_minor: 0,
      },
      user_pubkey_digest: "00".repeat(32),
      vm_id: "00".repeat(16),
      vm_version: "00".repeat(16),
      report_data: "00".repeat(64),
      mnonce: "ad998a845c45cf30944d1c285629e768",
      measure: "ae2a2cf1f41a485fa37bf9ae92f678783c59fbc79de7b5d237743d58f5538034",
      sig_usage: "02100000",
      sig_algo: "04000000",
      anonce: "26d7c75d",
      serial_number: "KPA64911240507",
      // Ours, only in PEK-only mode: the EAR says the chain was not checked, and names the key.
      pek_only: true,
      pek_public_key:
        "043d7ef0a5d7e14555ec5cafa91a6a43c731ce77673d5a71096e37756e85704aca70982d7237514e9fed071245937a4b92736709e66631ac2e0a58e4a5dfeefda8",
    });
  });

  test("binds REPORT_DATA: the capture's zero report data matches a zero digest, not another", () => {
    const ev = parseCsvEvidence(capture());
    const zero = new Uint8Array(48); // a SHA-384 digest, zero-padded to 64 by the verifier
    verifyCsvEvidence(ev, { allowPekOnly: true, expectedReportData: zero });
    for (const i of [0, 17, 47]) {
      const other = new Uint8Array(48);
      other[i] = 1;
      assert.equal(
        codeOf(() => verifyCsvEvidence(ev, { allowPekOnly: true, expectedReportData: other })),
        "ERR_REPORT_DATA_MISMATCH",
      );
    }
  });

  test("every single-byte change of the version 1 TEE info fails with ERR_SIGNATURE", () => {
    const base = capture();
    for (let i = 0; i < TEE_INFO_V1.SIZE; i++) {
      // 0..0xb4 is signed; sig_usage, sig_algo and anonce (0xb4..0xc0) are not, but decode to
      // the constants a PEK-signed report must state; then r and s.
      assert.equal(
        codeOf(() => verifyCsvEvidence(parseCsvEvidence(flipped(base, i)), { allowPekOnly: true })),
        "ERR_SIGNATURE",
        `byte 0x${i.toString(16)}`,
      );
    }
  });

  test("the unsigned anonce is bound through REPORT_DATA only", () => {
    // A coordinated change of anonce, sig_usage and sig_algo (none of them signed) re-decodes
    // every field with another 4-byte pattern. REPORT_DATA is signed, so a bound report data
    // catches it; without one, the version 1 format cannot (upstream alike): bind report data.
    const base = capture();
    const data = [...base.attestation_report.data];
    const d = [0x10, 0, 0, 0];
    for (let i = TEE_INFO.SIG_USAGE.offset; i < TEE_INFO_V1.SIG.offset; i++) {
      data[i] = (data[i] as number) ^ (d[i % 4] as number);
    }
    const ev = parseCsvEvidence({
      ...base,
      attestation_report: { ...base.attestation_report, data },
    });
    assert.equal(
      codeOf(() =>
        verifyCsvEvidence(ev, { allowPekOnly: true, expectedReportData: new Uint8Array(64) }),
      ),
      "ERR_REPORT_DATA_MISMATCH",
    );
    const unbound = verifyCsvEvidence(ev, { allowPekOnly: true });
    assert.equal((unbound.report_data as string).slice(0, 8), "10000000");
  });

  test("a changed PEK key or user ID breaks the report signature (PEK-only)", () => {
    const base = capture();
    const pek = base.cert_chain.pek as {
      body: { data: { pubkey: { key: { x: number[]; y: number[] } }; user_id: number[] } };
    };
    for (const [field, i] of [
      ["x", 0],
      ["x", 31],
      ["y", 5],
      ["user_id", 0],
      ["user_id", 12],
    ] as const) {
      const copy = structuredClone(base);
      const p = copy.cert_chain.pek as typeof pek;
      const arr = field === "user_id" ? p.body.data.user_id : p.body.data.pubkey.key[field];
      arr[i] = (arr[i] as number) ^ 1;
      assert.equal(
        codeOf(() => verifyCsvEvidence(parseCsvEvidence(copy), { allowPekOnly: true })),
        "ERR_SIGNATURE",
        `${field}[${i}]`,
      );
    }
  });

  test("the Attestation Service refuses it by default and marks the EAR pek_only when allowed", async () => {
    const store = createMemoryStore();
    const make = (allowPekOnly: boolean) =>
      createAttestationService({
        verifiers: [createCsvVerifier({ allowPekOnly })],
        policies: createAttestationPolicyStore(store, createRegoPolicyEngine()),
        broker: createEarBroker(),
        rvps: createRvps(store),
      });
    const req = [
      {
        tee: "csv" as const,
        evidence: capture(),
        runtimeData: { raw: new Uint8Array(64) },
        hashAlgorithm: "sha384" as const,
      },
    ];
    await assert.rejects(make(false).evaluate(req), (e: Error & { code?: string }) => {
      return (
        e.code === "ERR_VERIFIER_CHAIN" && /\[ERR_CERT_MISSING\] chain unverifiable/.test(e.message)
      );
    });
    const { token } = await make(true).evaluate(req);
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
    const ev = payload.submods.cpu0["ear.veraison.annotated-evidence"];
    assert.equal(ev.csv.pek_only, true);
    assert.equal(ev.csv.serial_number, "KPA64911240507");
    assert.equal(ev.report_data, "00".repeat(64));
    // Upstream's default CPU policy has no CSV rules: never affirming.
    assert.notEqual(payload.submods.cpu0["ear.status"], "affirming");
  });
});

describe("Hygon CSV: the shipped root (HRK)", () => {
  test("is the published certificate: pinned SHA-256, self-signed with HYGON-SSD-HRK", () => {
    const bytes = hygonRootBytes();
    assert.equal(createHash("sha256").update(bytes).digest("hex"), HYGON_HRK_SHA256);
    const hrk = shippedHygonRoot();
    assert.equal(Buffer.from(hrk.userId).toString(), "HYGON-SSD-HRK");
    assert.equal(Buffer.from(hrk.kid).toString("hex"), "3ae86a9701355cce333a589de21583d7");
  });

  test("a root with any byte of its signed body or signature changed is ERR_CERT_ROOT", () => {
    const bytes = hygonRootBytes();
    // Every field that means something, and a stride through the reserved bytes.
    const at = [
      ...Array.from({ length: 0x28 }, (_, i) => i),
      ...Array.from({ length: 0xd6 + 13 - 0x40 }, (_, i) => 0x40 + i),
      ...Array.from({ length: (0x240 - 0xe3) / 16 }, (_, i) => 0xe3 + 16 * i),
      ...[0x240, 0x250, 0x25f, 0x288, 0x2a7],
    ];
    for (const i of at) {
      const b = Uint8Array.from(bytes);
      b[i] = (b[i] as number) ^ 0x01;
      const code = codeOf(() => assertHygonRoot(parseCsvCaCert(b), "test"));
      assert.ok(
        code === "ERR_CERT_ROOT" || code === "ERR_EVIDENCE_MALFORMED",
        `byte 0x${i.toString(16)}: ${code}`,
      );
    }
  });
});

// ---- TEST PKI (not Hygon's keys): the chain path, made with OpenSSL's SM2 -----------------

const pkiSkip = opensslSm2Skip();

describe("Hygon CSV: chain checks on a TEST PKI (not Hygon's keys)", { skip: pkiSkip }, () => {
  let pki: CsvTestPki;
  let root: ReturnType<typeof parseCsvCaCert>;
  const dir = mkdtempSync(join(tmpdir(), "coco-csv-test-"));

  before(() => {
    pki = createCsvTestPki();
    root = parseCsvCaCert(pki.hrk, "test HRK");
  });
  after(() => {
    pki?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A version 1 report page signed by the test PEK, with the given (plain) report data. */
  function v1Page(reportData: Uint8Array): number[] {
    const page = Buffer.from(capture().attestation_report.data);
    const anonce = page.subarray(TEE_INFO_V1.ANONCE.offset, TEE_INFO_V1.ANONCE.offset + 4);
    for (let i = 0; i < 64; i++) {
      page[TEE_INFO.REPORT_DATA.offset + i] = (reportData[i] ?? 0) ^ (anonce[i % 4] as number);
    }
    const sig = pki.sign(pki.pekKey, "HYGON-SSD-PEK", page.subarray(0, TEE_INFO_V1.SIGNED.length));
    Buffer.from(sig.r).reverse().copy(page, TEE_INFO_V1.SIG.offset);
    Buffer.from(sig.s)
      .reverse()
      .copy(page, TEE_INFO_V1.SIG.offset + 72);
    return Array.from(page);
  }

  function evidence(o: { hskCek?: boolean; data?: number[]; magic?: number[]; flags?: number }) {
    const base = capture();
    return {
      ...base,
      attestation_report: {
        magic: o.magic ?? new Array(16).fill(0),
        flags: o.flags ?? 0,
        data: o.data ?? v1Page(new Uint8Array(64)),
      },
      cert_chain: {
        ...(o.hskCek ? { hsk_cek: { hsk: caCertJson(pki.hsk), cek: csvCertJson(pki.cek) } } : {}),
        pek: csvCertJson(pki.pek),
      },
    } as Json;
  }

  test("HRK → HSK → CEK → PEK verifies with the HSK/CEK in the evidence", () => {
    const claims = verifyCsvEvidence(parseCsvEvidence(evidence({ hskCek: true })), { root });
    assert.equal(claims.version, "1");
    assert.equal(claims.pek_only, undefined);
    assert.equal(claims.serial_number, "KPA64911240507");
  });

  test("the same chain is refused under the real Hygon root", () => {
    assert.throws(
      () => verifyCsvEvidence(parseCsvEvidence(evidence({ hskCek: true }))),
      (e: EvidenceError) => e.code === "ERR_CERT_CHAIN" && /HRK/.test(e.message),
    );
  });

  test("every single-byte change of a signed HSK, CEK or PEK field or signature is ERR_CERT_CHAIN", () => {
    const ev = evidence({ hskCek: true });
    const hc = ev.cert_chain.hsk_cek as { hsk: unknown; cek: unknown };
    // [certificate, byte offsets]: every byte that carries meaning, a stride through reserved.
    const range = (from: number, to: number, step = 1) =>
      Array.from({ length: Math.ceil((to - from) / step) }, (_, i) => from + i * step);
    const caAt = [
      ...range(0, 0x28),
      ...range(0x40, 0x64),
      ...range(0x8c, 0xb0),
      ...range(0xd4, 0xe4),
      ...range(0xe4, 0x240, 61),
      0x240,
      0x25f,
      0x288,
      0x2a7,
    ];
    const csvAt = [
      ...range(0, 0x10),
      ...range(0x10, 0x34),
      ...range(0x5c, 0x80),
      ...range(0xa4, 0xb4),
      ...range(0xb4, 0x414, 97),
      0x414,
      0x41c,
      0x43b,
      0x464,
      0x483,
    ];
    const cases: ["hsk" | "cek" | "pek", Uint8Array, number[]][] = [
      ["hsk", pki.hsk, caAt],
      ["cek", pki.cek, csvAt],
      ["pek", pki.pek, csvAt],
    ];
    let n = 0;
    for (const [which, bytes, at] of cases) {
      for (const i of at) {
        const b = Uint8Array.from(bytes);
        b[i] = (b[i] as number) ^ 0x01;
        const copy = structuredClone(ev);
        if (which === "pek") copy.cert_chain.pek = csvCertJson(b);
        else
          copy.cert_chain.hsk_cek = {
            ...hc,
            [which]: which === "hsk" ? caCertJson(b) : csvCertJson(b),
          };
        const code = codeOf(() => verifyCsvEvidence(parseCsvEvidence(copy), { root }));
        // A user-ID length past its field is a parse error; everything else a chain error.
        assert.ok(
          code === "ERR_CERT_CHAIN" || code === "ERR_EVIDENCE_MALFORMED",
          `${which} byte 0x${i.toString(16)}: ${code}`,
        );
        n++;
      }
    }
    assert.ok(n > 300);
  });

  test("the test report's signature and REPORT_DATA bindings hold on the test PKI", () => {
    const rd = createHash("sha384").update("runtime data").digest();
    const ev = evidence({ hskCek: true, data: v1Page(rd) });
    verifyCsvEvidence(parseCsvEvidence(ev), { root, expectedReportData: rd });
    const other = Uint8Array.from(rd);
    other[0] = (other[0] as number) ^ 1;
    assert.equal(
      codeOf(() => verifyCsvEvidence(parseCsvEvidence(ev), { root, expectedReportData: other })),
      "ERR_REPORT_DATA_MISMATCH",
    );
    assert.equal(
      codeOf(() =>
        verifyCsvEvidence(parseCsvEvidence(flipped(ev, TEE_INFO.REPORT_DATA.offset)), {
          root,
          expectedReportData: rd,
        }),
      ),
      "ERR_SIGNATURE",
    );
  });

  test("a version 2 report verifies, and its SM3 event log replays against RTMR1..4", () => {
    const events = [
      { mr: 1, data: "firmware" },
      { mr: 2, data: "kernel" },
      { mr: 2, data: "initrd" },
      { mr: 3, data: "cmdline" },
      { mr: 4, data: "AAEL init-data" },
    ];
    const rd = createHash("sha384").update("v2 runtime data").digest();
    const page = Buffer.alloc(4096);
    rd.copy(page, TEE_INFO.REPORT_DATA.offset);
    createHash("sm3").update("measure").digest().copy(page, TEE_INFO.MEASURE.offset);
    page.writeUInt32LE(0x45, TEE_INFO.POLICY.offset);
    page.writeUInt32LE(0x1002, TEE_INFO.SIG_USAGE.offset);
    page.writeUInt32LE(4, TEE_INFO.SIG_ALGO.offset);
    page.writeUInt32LE(2337, TEE_INFO_V2.BUILD.offset);
    page.writeUInt16LE(1, TEE_INFO_V2.RTMR_VERSION.offset);
    page.copy(
      page,
      TEE_INFO_V2.RTMR0.offset,
      TEE_INFO.MEASURE.offset,
      TEE_INFO.MEASURE.offset + 32,
    );
    for (let i = 1; i <= 4; i++) replaySm3(events, i).copy(page, TEE_INFO_V2.RTMR0.offset + 32 * i);
    const sign = (p: Buffer) => {
      const sig = pki.sign(pki.pekKey, "HYGON-SSD-PEK", p.subarray(0, TEE_INFO_V2.SIGNED.length));
      Buffer.from(sig.r).reverse().copy(p, TEE_INFO_V2.SIG.offset);
      Buffer.from(sig.s)
        .reverse()
        .copy(p, TEE_INFO_V2.SIG.offset + 72);
      return Array.from(p);
    };
    const log = Buffer.from(buildSm3EventLog(events)).toString("base64");
    const ev = {
      ...evidence({ hskCek: true, data: sign(page), magic: [...ATTESTATION_EXT_MAGIC], flags: 1 }),
      cc_eventlog: log,
    };
    const claims = verifyCsvEvidence(parseCsvEvidence(ev), { root, expectedReportData: rd });
    assert.equal(claims.version, "2");
    assert.equal(claims.build, 2337);
    assert.equal(claims.rtmr_version, 1);
    assert.equal(claims.rtmr2, replaySm3(events, 2).toString("hex"));
    assert.equal(claims.anonce, undefined);
    assert.equal((claims.uefi_event_logs as unknown[]).length, 5);
    // A changed RTMR breaks the signature; a log that no longer replays is ERR_EVENTLOG_REPLAY.
    assert.equal(
      codeOf(() =>
        verifyCsvEvidence(parseCsvEvidence(flipped(ev, TEE_INFO_V2.RTMR0.offset + 64)), {
          root,
        }),
      ),
      "ERR_SIGNATURE",
    );
    const other = [...events.slice(0, 4), { mr: 4, data: "AAEL other init-data" }];
    assert.equal(
      codeOf(() =>
        verifyCsvEvidence(
          parseCsvEvidence({
            ...ev,
            cc_eventlog: Buffer.from(buildSm3EventLog(other)).toString("base64"),
          }),
          { root },
        ),
      ),
      "ERR_EVENTLOG_REPLAY",
    );
    // A version 2 report's every signed byte is covered: spot-check the reserved areas too.
    for (const i of [
      TEE_INFO_V2.BUILD.offset,
      TEE_INFO_V2.RESERVED0.offset,
      TEE_INFO_V2.RESERVED1.offset + 300,
    ]) {
      assert.equal(
        codeOf(() => verifyCsvEvidence(parseCsvEvidence(flipped(ev, i)), { root })),
        "ERR_SIGNATURE",
        `byte 0x${i.toString(16)}`,
      );
    }
  });

  test("HSK/CEK from an offline store in upstream's layout, and PEK-only refused when absent", async () => {
    const store = join(dir, "store");
    mkdirSync(join(store, "hsk_cek", "KPA64911240507"), { recursive: true });
    writeFileSync(hskCekPath(store, "KPA64911240507"), Buffer.concat([pki.hsk, pki.cek]));
    const read = (p: string) => {
      try {
        return new Uint8Array(readFileSync(p));
      } catch {
        return undefined;
      }
    };
    const v = createCsvVerifier({ hskCekDirs: [store], readFile: read, root });
    const [res] = await v.evaluate({
      tee: "csv",
      evidence: evidence({}),
      expectedReportData: new Uint8Array(0),
    });
    assert.equal(res?.claims.pek_only, undefined);
    const none = createCsvVerifier({ hskCekDirs: [join(dir, "empty")], readFile: read, root });
    await assert.rejects(
      none.evaluate({ tee: "csv", evidence: evidence({}), expectedReportData: new Uint8Array(0) }),
      /chain unverifiable/,
    );
    // A store file that is not HSK ‖ CEK is collateral that does not parse.
    writeFileSync(hskCekPath(store, "KPA64911240507"), pki.hsk);
    await assert.rejects(
      v.evaluate({ tee: "csv", evidence: evidence({}), expectedReportData: new Uint8Array(0) }),
      (e: Error & { code?: string }) => e.code === "ERR_VERIFIER_COLLATERAL",
    );
  });

  test("HSK/CEK fetched from a Hygon KDS stand-in through Trustee's collateral cache", async () => {
    const kds = await startKdsStandIn(new Uint8Array(0), {
      "/hsk_cek?snumber=KPA64911240507": Buffer.concat([pki.hsk, pki.cek]),
    });
    try {
      const kvs = createMemoryStore();
      const online = createCollateralCache({
        store: kvs,
        fetch: async (url) => {
          const res = await fetch(url);
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          return { body: new Uint8Array(await res.arrayBuffer()), headers: {} };
        },
      });
      const v = createCsvVerifier({ kds: { baseUrl: kds.url, get: online.getBody }, root });
      const input = {
        tee: "csv" as const,
        evidence: evidence({}),
        expectedReportData: new Uint8Array(0),
      };
      await v.evaluate(input);
      await v.evaluate(input);
      assert.deepEqual(kds.hits, ["/hsk_cek?snumber=KPA64911240507"]);
      assert.equal(online.fetches, 1);
      // A restarted, offline Trustee on the same store still has it.
      const offline = createCollateralCache({ store: kvs });
      const again = createCsvVerifier({ kds: { baseUrl: kds.url, get: offline.getBody }, root });
      const [res] = await again.evaluate(input);
      assert.equal(res?.claims.pek_only, undefined);
      // An unknown chip: the KDS answers 404, which is the verifier's answer too.
      const unknown = structuredClone(input.evidence);
      unknown.serial_number = [...Buffer.from("OTHERCHIP01")];
      await assert.rejects(
        v.evaluate({ ...input, evidence: unknown }),
        (e: Error & { code?: string }) => e.code === "ERR_VERIFIER_COLLATERAL",
      );
    } finally {
      await kds.close();
    }
  });
});
