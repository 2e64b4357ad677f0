import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import type { Clock } from "../../../../tee/common/certs.js";
import { parseCertificate } from "../../../../tee/common/certs.js";
import { parseCcel } from "../../../../tee/eventlog/ccel.js";
import { parseDcapQuote } from "../../../../tee/tdx/quote.js";
import { tdxClaims } from "./claims.js";
import { intelRoot, verifyDcapSignatures, verifyPckChain } from "./dcap.js";
import { INTEL_SGX_ROOT_CA_SHA256 } from "./intel-root.js";
import { parseTdxEvidence, verifyTdxEvidence } from "./verify.js";

const T = "fixtures/evidence/tdx/";
const skip = sharedSkip(`${T}tdx_quote_4.dat`);
const read = (rel: string): Uint8Array => new Uint8Array(readFileSync(sharedPath(rel)));
const clock: Clock = () => new Date("2025-01-01T00:00:00Z");
const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

test("the pinned Intel root is the one the fixture PCK chains end in", { skip }, () => {
  assert.equal(
    createHash("sha256").update(intelRoot().raw).digest("hex"),
    INTEL_SGX_ROOT_CA_SHA256,
  );
  for (const f of [
    `${T}tdx_quote_4.dat`,
    `${T}tdx_quote_5.dat`,
    "fixtures/evidence/sgx/occlum_quote.dat",
  ]) {
    const pem = Buffer.from(parseDcapQuote(read(f)).pckChainPem).toString("latin1");
    const last = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.at(-1);
    assert.ok(last);
    assert.equal(
      createHash("sha256").update(parseCertificate(last, "root").raw).digest("hex"),
      INTEL_SGX_ROOT_CA_SHA256,
    );
  }
});

test("parses quote v4 (TDX 1.0) and v5 (TDX 1.5 body)", { skip }, () => {
  const q4 = parseDcapQuote(read(`${T}tdx_quote_4.dat`));
  assert.equal(q4.version, 4);
  assert.equal(q4.bodyType, "tdx10");
  const q5 = parseDcapQuote(read(`${T}tdx_quote_5.dat`));
  assert.equal(q5.version, 5);
  assert.equal(q5.bodyType, "tdx15");
});

test("claims for tdx_quote_4 + CCEL_data equal upstream's parse_tdx_claims_expected.json", {
  skip,
}, () => {
  const q = parseDcapQuote(read(`${T}tdx_quote_4.dat`));
  const { pck } = verifyDcapSignatures(q, clock);
  const claims = tdxClaims(q, parseCcel(read(`${T}CCEL_data`)), pck.platform);
  const want = JSON.parse(readFileSync(sharedPath(`${T}parse_tdx_claims_expected.json`), "utf8"));
  assert.deepEqual(JSON.parse(JSON.stringify(claims)), want);
});

test("both real TDX quotes pass DCAP signature checks; v5 claims carry 1.5 fields", {
  skip,
}, () => {
  for (const f of ["tdx_quote_4.dat", "tdx_quote_5.dat"]) {
    const raw = read(`${T}${f}`);
    const claims = verifyTdxEvidence(parseTdxEvidence({ quote: b64(raw), cc_eventlog: null }), {
      clock,
    });
    const quote = claims.quote as {
      body: Record<string, string>;
      type?: string;
      header: Record<string, string>;
    };
    if (f === "tdx_quote_5.dat") {
      assert.equal(quote.type, "0300");
      assert.equal(quote.header.version, "0500");
      assert.ok(quote.body.mr_servicetd);
      assert.ok(quote.body.mr_td?.startsWith("dfba221b"));
      assert.ok(quote.body.tcb_svn?.startsWith("05010200"));
    } else {
      assert.equal(claims.platform_instance_id, "82548d228d94d5e204a95b354dc61a02");
    }
  }
});

test("binding failures: report data, MRCONFIGID and event-log replay each have their own code", {
  skip,
}, () => {
  const raw = read(`${T}tdx_quote_4.dat`);
  const ev = parseTdxEvidence({ quote: b64(raw), cc_eventlog: null });
  const rd = Buffer.from(
    "7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656aeb755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429",
    "hex",
  );
  verifyTdxEvidence(ev, {
    clock,
    expectedReportData: rd,
    expectedInitDataHash: new Uint8Array(48),
  });
  assert.throws(() => verifyTdxEvidence(ev, { clock, expectedReportData: rd.subarray(0, 48) }), {
    code: "ERR_REPORT_DATA_MISMATCH",
  });
  assert.throws(
    () => verifyTdxEvidence(ev, { clock, expectedInitDataHash: new Uint8Array(48).fill(2) }),
    {
      code: "ERR_INIT_DATA_MISMATCH",
    },
  );
  // Upstream notes CCEL_data's RTMRs do not match this quote: replay must refuse the pair.
  const withLog = parseTdxEvidence({ quote: b64(raw), cc_eventlog: b64(read(`${T}CCEL_data`)) });
  assert.throws(() => verifyTdxEvidence(withLog, { clock }), { code: "ERR_EVENTLOG_REPLAY" });
});

test("expired PCK chains and foreign roots are refused", { skip }, () => {
  const q = parseDcapQuote(read(`${T}tdx_quote_4.dat`));
  assert.throws(() => verifyDcapSignatures(q, () => new Date("2031-01-01T00:00:00Z")), {
    code: "ERR_CERT_EXPIRED",
  });
  assert.throws(() => verifyDcapSignatures(q, () => new Date("2020-01-01T00:00:00Z")), {
    code: "ERR_CERT_EXPIRED",
  });
  const amd = readFileSync(sharedPath("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem"), "utf8");
  const foreign = parseCertificate(
    amd.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.[1] ?? "",
    "ARK",
  );
  assert.throws(() => verifyPckChain(q.pckChainPem, clock(), foreign), { code: "ERR_CERT_ROOT" });
});

test("malformed collateral is refused with a collateral code", { skip }, () => {
  const ev = parseTdxEvidence({ quote: b64(read(`${T}tdx_quote_4.dat`)), cc_eventlog: null });
  const c = {
    tcbInfoJson: "{}",
    tcbInfoIssuerChainPem: "",
    qeIdentityJson: "{}",
    qeIdentityIssuerChainPem: "",
  };
  assert.throws(() => verifyTdxEvidence(ev, { clock, collateral: c }), {
    code: "ERR_COLLATERAL_INVALID",
  });
});

test("tampering sweep over a real v4 quote: every signed byte fails; unsigned bytes are reported precisely", {
  skip,
}, () => {
  const raw = read(`${T}tdx_quote_4.dat`);
  const q = parseDcapQuote(raw);
  const accepted: number[] = [];
  const codes = new Map<string, number>();
  for (let i = 0; i < raw.length; i++) {
    const t = raw.slice();
    t[i] = (t[i] ?? 0) ^ 0x01;
    try {
      verifyDcapSignatures(parseDcapQuote(t), clock);
      accepted.push(i);
    } catch (e) {
      const code = (e as { code: string }).code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (i < q.certDataOffset)
        assert.match(code, /^(ERR_SIGNATURE|ERR_EVIDENCE_\w+)$/, `byte ${i}`);
    }
  }
  // The only flips that verify are outside anything signed or parsed as a certificate: the
  // separator after each "-----END CERTIFICATE-----" (\n becomes \v, still whitespace) and the
  // chain's trailing NUL. Nothing in the header, body, QE report, signatures or certificates.
  const pemStart = raw.length - q.pckChainPem.length;
  const pem = Buffer.from(q.pckChainPem).toString("latin1");
  for (const i of accepted) {
    const o = i - pemStart;
    assert.ok(o >= 0, `byte ${i} outside the PEM chain was accepted`);
    const afterEnd = pem.slice(0, o).endsWith("-----END CERTIFICATE-----") && pem[o] === "\n";
    const trailingNul = o === pem.length - 1 && pem[o] === "\0";
    assert.ok(afterEnd || trailingNul, `PEM byte ${o} (${JSON.stringify(pem[o])}) was accepted`);
  }
  assert.equal(accepted.length, 4);
  assert.ok((codes.get("ERR_SIGNATURE") ?? 0) > 500);
  assert.ok((codes.get("ERR_QE_REPORT_SIGNATURE") ?? 0) >= 384);
  assert.ok((codes.get("ERR_QE_REPORT_BINDING") ?? 0) >= 32);
});

test("truncated, oversized and garbage quotes fail with coded parse errors", { skip }, () => {
  const raw = read(`${T}tdx_quote_5.dat`);
  for (let n = 0; n < raw.length; n += 13) {
    assert.throws(
      () => parseDcapQuote(raw.subarray(0, n)),
      (e: unknown) => /^ERR_EVIDENCE_/.test((e as { code: string }).code),
    );
  }
  const longer = new Uint8Array(raw.length + 70);
  longer.set(raw);
  assert.equal(parseDcapQuote(longer).paddingBytes, 70); // zero padding, as Azure sends
  longer[raw.length + 5] = 1;
  assert.throws(
    () => parseDcapQuote(longer),
    (e: unknown) => {
      assert.equal((e as { code: string }).code, "ERR_EVIDENCE_MALFORMED");
      assert.equal((e as { offset: number }).offset, raw.length + 5);
      return true;
    },
  );
  assert.throws(() => parseDcapQuote(new Uint8Array(70000)), { code: "ERR_EVIDENCE_OVERSIZE" });
  assert.throws(
    () => parseDcapQuote(new Uint8Array(5000).fill(0x41)),
    (e: unknown) => /^ERR_EVIDENCE_/.test((e as { code: string }).code),
  );
  for (const bad of [null, {}, { quote: "" }, { quote: "!!!" }, { quote: 5 }]) {
    assert.throws(
      () => parseTdxEvidence(bad),
      (e: unknown) => /^ERR_EVIDENCE_/.test((e as { code: string }).code),
    );
  }
});
