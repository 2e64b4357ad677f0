import assert from "node:assert/strict";
import { createHash, type X509Certificate as NodeCert, webcrypto } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { attestVerify, collateralFetchDcap } from "../../../../cli/attest.js";
import { x509 } from "../../../../crypto/x509.js";
import { parseCertificate } from "../../../../tee/common/certs.js";
import { sgxField } from "../../../../tee/sgx/body.js";
import { tdField } from "../../../../tee/tdx/body.js";
import { parsePlatformInfo } from "../../../../tee/tdx/pck.js";
import { parseDcapQuote } from "../../../../tee/tdx/quote.js";
import type { DcapCollateral } from "./collateral.js";
import { parseTdxEvidence, verifyTdxEvidence } from "./verify.js";

/*
 * Intel's real collateral cannot be re-signed, and none with its issuer chains and CRLs is in
 * ../shared. So this test builds a complete DCAP PKI of its own (root, PCK CA, PCK leaf carrying
 * the real quote's SGX extension, TCB signer, CRLs) and re-signs the real TDX quote's QE report
 * and body under it, then appraises that quote against collateral signed by the same PKI. The
 * pinned Intel root is replaced only through the explicit `root` option.
 */
const skip = sharedSkip("fixtures/evidence/tdx/tdx_quote_4.dat");
const subtle = webcrypto.subtle;
const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const now = new Date("2025-06-01T00:00:00Z");
const clock = () => now;
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

interface Pki {
  root: NodeCert;
  rootPem: string;
  rootKey: CryptoKeyPair;
  caKey: CryptoKeyPair;
  caPem: string;
  leafPem: string;
  leafKey: CryptoKeyPair;
  tcbKey: CryptoKeyPair;
  tcbPem: string;
  leafSerial: string;
}
type CryptoKeyPair = webcrypto.CryptoKeyPair;

async function keys(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function cert(
  subject: string,
  issuer: string,
  key: CryptoKeyPair,
  signer: CryptoKeyPair,
  serial: string,
  extensions: x509.Extension[],
): Promise<string> {
  const c = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject,
    issuer,
    notBefore: new Date("2024-01-01T00:00:00Z"),
    notAfter: new Date("2030-01-01T00:00:00Z"),
    signingAlgorithm: ALG,
    publicKey: key.publicKey,
    signingKey: signer.privateKey,
    extensions,
  });
  return c.toString("pem");
}

let pki: Pki;
let realQuote: Uint8Array;

before(async () => {
  if (skip) return;
  realQuote = new Uint8Array(readFileSync(sharedPath("fixtures/evidence/tdx/tdx_quote_4.dat")));
  const q = parseDcapQuote(realQuote);
  const realLeafPem =
    Buffer.from(q.pckChainPem)
      .toString("latin1")
      .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? "";
  const sgxExt = new x509.X509Certificate(realLeafPem).getExtension("1.2.840.113741.1.13.1");
  assert.ok(sgxExt);
  const ca = [
    new x509.BasicConstraintsExtension(true, 1, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
  const rootKey = await keys();
  const caKey = await keys();
  const leafKey = await keys();
  const tcbKey = await keys();
  const rootPem = await cert(
    "CN=Test SGX Root CA",
    "CN=Test SGX Root CA",
    rootKey,
    rootKey,
    "01",
    ca,
  );
  const caPem = await cert(
    "CN=Intel SGX PCK Platform CA",
    "CN=Test SGX Root CA",
    caKey,
    rootKey,
    "02",
    ca,
  );
  const leafPem = await cert(
    "CN=Intel SGX PCK Certificate",
    "CN=Intel SGX PCK Platform CA",
    leafKey,
    caKey,
    "0a0b",
    [sgxExt],
  );
  const tcbPem = await cert(
    "CN=Test TCB Signing",
    "CN=Test SGX Root CA",
    tcbKey,
    rootKey,
    "03",
    [],
  );
  pki = {
    root: parseCertificate(rootPem, "root"),
    rootPem,
    rootKey,
    caKey,
    caPem,
    leafPem,
    leafKey,
    tcbKey,
    tcbPem,
    leafSerial: "0a0b",
  };
});

async function p1363(key: CryptoKeyPair, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, data),
  );
}

/** The real quote's header, body, QE report and auth data, re-signed under the test PKI. */
async function resignedQuote(file = "tdx_quote_4.dat"): Promise<Uint8Array> {
  const q = parseDcapQuote(
    new Uint8Array(readFileSync(sharedPath(`fixtures/evidence/tdx/${file}`))),
  );
  const ak = await keys();
  const jwk = await subtle.exportKey("jwk", ak.publicKey);
  const akRaw = new Uint8Array([
    ...Buffer.from(jwk.x ?? "", "base64url"),
    ...Buffer.from(jwk.y ?? "", "base64url"),
  ]);
  const qeReport = q.qeReport.slice();
  qeReport.set(createHash("sha256").update(akRaw).update(q.qeAuthData).digest(), 320);
  qeReport.fill(0, 352, 384);
  const qeSig = await p1363(pki.leafKey, qeReport);
  const quoteSig = await p1363(ak, q.signedData);
  const pem = Buffer.from(`${pki.leafPem}\n${pki.caPem}\n${pki.rootPem}\n`);
  const auth = q.qeAuthData;
  const inner = Buffer.alloc(384 + 64 + 2 + auth.length + 6 + pem.length);
  let o = 0;
  inner.set(qeReport, o);
  o += 384;
  inner.set(qeSig, o);
  o += 64;
  inner.writeUInt16LE(auth.length, o);
  o += 2;
  inner.set(auth, o);
  o += auth.length;
  inner.writeUInt16LE(5, o);
  inner.writeUInt32LE(pem.length, o + 2);
  inner.set(pem, o + 6);
  const sigData = Buffer.alloc(128 + 6 + inner.length);
  sigData.set(quoteSig, 0);
  sigData.set(akRaw, 64);
  sigData.writeUInt16LE(6, 128);
  sigData.writeUInt32LE(inner.length, 130);
  sigData.set(inner, 134);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(sigData.length);
  return new Uint8Array(Buffer.concat([q.signedData, len, sigData]));
}

async function crl(
  signer: CryptoKeyPair,
  issuer: string,
  revoked: string[],
  num: number,
): Promise<Uint8Array> {
  const c = await x509.X509CrlGenerator.create({
    issuer,
    thisUpdate: new Date("2025-05-01T00:00:00Z"),
    nextUpdate: new Date("2025-07-01T00:00:00Z"),
    signingAlgorithm: ALG,
    signingKey: signer.privateKey,
    entries: revoked.map((serialNumber) => ({
      serialNumber,
      revocationDate: new Date("2025-04-01T00:00:00Z"),
    })),
    extensions: [new x509.Extension("2.5.29.20", false, new Uint8Array([2, 1, num]))],
  });
  return new Uint8Array(c.rawData);
}

interface Knobs {
  levelStatus?: string;
  qeStatus?: string;
  qeSvnOffset?: number;
  pceSvnBump?: number;
  revokeLeaf?: boolean;
  fmspc?: string;
  nextUpdate?: string;
  moduleStatus?: string;
}

async function collateral(quote: Uint8Array, k: Knobs = {}): Promise<DcapCollateral> {
  const q = parseDcapQuote(quote);
  const leaf = parseCertificate(pki.leafPem, "leaf");
  const p = parsePlatformInfo(new Uint8Array(leaf.raw));
  const comps = (v: number[]) => v.map((svn) => ({ svn }));
  const tee = Array.from(tdField(q.body, "tcb_svn"));
  const tcbInfo = {
    id: "TDX",
    version: 3,
    issueDate: "2025-05-02T00:00:00Z",
    nextUpdate: k.nextUpdate ?? "2025-07-02T00:00:00Z",
    fmspc: k.fmspc ?? hex(p.fmspc).toUpperCase(),
    pceId: hex(p.pceid).toUpperCase(),
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    tdxModule: {
      mrsigner: hex(tdField(q.body, "mrsigner_seam")),
      attributes: "0000000000000000",
      attributesMask: "FFFFFFFFFFFFFFFF",
    },
    tdxModuleIdentities: [
      {
        id: `TDX_${(tee[1] ?? 0).toString(16).toUpperCase().padStart(2, "0")}`,
        mrsigner: hex(tdField(q.body, "mrsigner_seam")),
        attributes: "0000000000000000",
        attributesMask: "FFFFFFFFFFFFFFFF",
        tcbLevels: [
          {
            tcb: { isvsvn: tee[0] ?? 0 },
            tcbDate: "2024-03-13T00:00:00Z",
            tcbStatus: k.moduleStatus ?? "UpToDate",
          },
        ],
      },
    ],
    tcbLevels: [
      // A level above this platform first, so the matcher has to skip it.
      {
        tcb: {
          sgxtcbcomponents: comps(p.tcbComponents.map((c) => c + 1)),
          pcesvn: p.pcesvn + 1,
          tdxtcbcomponents: comps(tee),
        },
        tcbDate: "2025-03-01T00:00:00Z",
        tcbStatus: "UpToDate",
      },
      {
        tcb: {
          sgxtcbcomponents: comps(p.tcbComponents),
          pcesvn: p.pcesvn + (k.pceSvnBump ?? 0),
          tdxtcbcomponents: comps(tee),
        },
        tcbDate: "2024-03-13T00:00:00Z",
        tcbStatus: k.levelStatus ?? "SWHardeningNeeded",
        advisoryIDs: ["INTEL-SA-00837"],
      },
    ],
  };
  const qeSvn = sgxField(q.qeReport, "isv_svn");
  const svn = (qeSvn[0] ?? 0) | ((qeSvn[1] ?? 0) << 8);
  const ident = {
    id: "TD_QE",
    version: 2,
    issueDate: "2025-05-03T00:00:00Z",
    nextUpdate: "2025-07-03T00:00:00Z",
    tcbEvaluationDataNumber: 16,
    miscselect: hex(sgxField(q.qeReport, "misc_select")),
    miscselectMask: "FFFFFFFF",
    // Intel publishes the attributes already masked.
    attributes: hex(
      new Uint8Array([
        ...sgxField(q.qeReport, "attributes.flags"),
        ...sgxField(q.qeReport, "attributes.xfrm"),
      ]).map((b, i) => b & (Buffer.from("FBFFFFFFFFFFFFFF0000000000000000", "hex")[i] ?? 0)),
    ),
    attributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
    mrsigner: hex(sgxField(q.qeReport, "mr_signer")),
    isvprodid:
      (sgxField(q.qeReport, "isv_prod_id")[0] ?? 0) |
      ((sgxField(q.qeReport, "isv_prod_id")[1] ?? 0) << 8),
    tcbLevels: [
      {
        tcb: { isvsvn: svn + (k.qeSvnOffset ?? 0) },
        tcbDate: "2024-03-13T00:00:00Z",
        tcbStatus: k.qeStatus ?? "UpToDate",
      },
    ],
  };
  // Intel signs the exact inner object text; keep it compact like PCS does.
  const tcbText = JSON.stringify(tcbInfo);
  const qeText = JSON.stringify(ident);
  const tcbSig = hex(await p1363(pki.tcbKey, Buffer.from(tcbText)));
  const qeSig = hex(await p1363(pki.tcbKey, Buffer.from(qeText)));
  return {
    tcbInfoJson: `{"tcbInfo":${tcbText},"signature":"${tcbSig}"}`,
    tcbInfoIssuerChainPem: `${pki.tcbPem}\n${pki.rootPem}`,
    qeIdentityJson: `{"enclaveIdentity":${qeText},"signature":"${qeSig}"}`,
    qeIdentityIssuerChainPem: `${pki.tcbPem}\n${pki.rootPem}`,
    pckCrlDer: await crl(
      pki.caKey,
      "CN=Intel SGX PCK Platform CA",
      k.revokeLeaf ? [pki.leafSerial] : ["77"],
      5,
    ),
    rootCaCrlDer: await crl(pki.rootKey, "CN=Test SGX Root CA", [], 9),
  };
}

async function appraise(quote: Uint8Array, c: DcapCollateral): Promise<Record<string, unknown>> {
  return verifyTdxEvidence(parseTdxEvidence({ quote: Buffer.from(quote).toString("base64") }), {
    clock,
    root: pki.root,
    collateral: c,
  });
}

test("a re-signed real quote appraised against collateral yields the TCB status claims", {
  skip,
}, async () => {
  const quote = await resignedQuote();
  const claims = await appraise(quote, await collateral(quote));
  assert.equal(claims.tcb_status, "SWHardeningNeeded");
  assert.deepEqual(claims.advisory_ids, ["INTEL-SA-00837"]);
  assert.equal(claims.tcb_date, "2024-03-13T00:00:00Z");
  assert.equal(claims.collateral_expiration_status, "0");
  assert.equal(claims.tcb_eval_num, 16);
  assert.equal(claims.pck_crl_num, 5);
  assert.equal(claims.root_ca_crl_num, 9);
  assert.equal(claims.earliest_issue_date, "2025-05-01T00:00:00Z");
  assert.equal(claims.latest_issue_date, "2025-05-03T00:00:00Z");
  assert.equal(claims.earliest_expiration_date, "2025-07-01T00:00:00Z");
  assert.equal(claims.sgx_type, "Scalable");
  assert.equal(typeof claims.is_smt_enabled, "boolean");
  assert.equal((claims.quote as { header: { version: string } }).header.version, "0400");
});

test("statuses converge with the QE status; terminal statuses and bad collateral are refused", {
  skip,
}, async () => {
  const quote = await resignedQuote();
  assert.equal(
    (
      await appraise(
        quote,
        await collateral(quote, { levelStatus: "UpToDate", qeStatus: "OutOfDate" }),
      )
    ).tcb_status,
    "OutOfDate",
  );
  assert.equal(
    (
      await appraise(
        quote,
        await collateral(quote, { levelStatus: "ConfigurationNeeded", qeStatus: "OutOfDate" }),
      )
    ).tcb_status,
    "OutOfDateConfigurationNeeded",
  );
  assert.equal(
    (await appraise(quote, await collateral(quote, { nextUpdate: "2025-05-20T00:00:00Z" })))
      .collateral_expiration_status,
    "1",
  );
  await assert.rejects(appraise(quote, await collateral(quote, { levelStatus: "Revoked" })), {
    code: "ERR_TCB_STATUS",
  });
  await assert.rejects(appraise(quote, await collateral(quote, { revokeLeaf: true })), {
    code: "ERR_TCB_STATUS",
  });
  await assert.rejects(appraise(quote, await collateral(quote, { qeSvnOffset: 1 })), {
    code: "ERR_TCB_STATUS",
  });
  await assert.rejects(appraise(quote, await collateral(quote, { pceSvnBump: 1 })), {
    code: "ERR_TCB_STATUS",
  });
  await assert.rejects(appraise(quote, await collateral(quote, { fmspc: "00A06D080000" })), {
    code: "ERR_COLLATERAL_INVALID",
  });
  const c = await collateral(quote);
  await assert.rejects(
    appraise(quote, {
      ...c,
      tcbInfoJson: c.tcbInfoJson.replace(
        '"tcbEvaluationDataNumber":17',
        '"tcbEvaluationDataNumber":18',
      ),
    }),
    {
      code: "ERR_COLLATERAL_INVALID",
    },
  );
  await assert.rejects(appraise(quote, { ...c, pckCrlDer: c.rootCaCrlDer }), {
    code: "ERR_COLLATERAL_INVALID",
  });
  await assert.rejects(appraise(quote, { ...c, pckCrlDer: undefined }), {
    code: "ERR_COLLATERAL_MISSING",
  });
  // Collateral signed by the test PKI is worthless against the pinned Intel root.
  await assert.rejects(
    Promise.resolve().then(() =>
      verifyTdxEvidence(parseTdxEvidence({ quote: Buffer.from(realQuote).toString("base64") }), {
        clock,
        collateral: c,
      }),
    ),
    { code: "ERR_CERT_ROOT" },
  );
});

test("TDX 1.5 quote: the TDX module identity (TDX_01) rates TEE_TCB_SVN[0] and converges", {
  skip,
}, async () => {
  const quote = await resignedQuote("tdx_quote_5.dat");
  assert.equal(parseDcapQuote(quote).version, 5);
  const ok = await appraise(quote, await collateral(quote, { levelStatus: "UpToDate" }));
  assert.equal(ok.tcb_status, "UpToDate");
  const old = await appraise(
    quote,
    await collateral(quote, { levelStatus: "UpToDate", moduleStatus: "OutOfDate" }),
  );
  assert.equal(old.tcb_status, "OutOfDate");
});

test("collateral fetch from a PCS-shaped server fills a directory that coco attest verify appraises", {
  skip,
}, async () => {
  const quote = await resignedQuote();
  const c = await collateral(quote);
  const served = new Map<string, { body: Uint8Array | string; headers?: Record<string, string> }>([
    [
      `/tdx/certification/v4/tcb`,
      {
        body: c.tcbInfoJson,
        headers: { "TCB-Info-Issuer-Chain": encodeURIComponent(c.tcbInfoIssuerChainPem) },
      },
    ],
    [
      `/tdx/certification/v4/qe/identity`,
      {
        body: c.qeIdentityJson,
        headers: {
          "SGX-Enclave-Identity-Issuer-Chain": encodeURIComponent(c.qeIdentityIssuerChainPem),
        },
      },
    ],
    [
      `/sgx/certification/v4/pckcrl`,
      { body: (Array.isArray(c.pckCrlDer) ? c.pckCrlDer[0] : c.pckCrlDer) ?? "" },
    ],
    [`/root.crl`, { body: c.rootCaCrlDer ?? "" }],
  ]);
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    seen.push(`${url.pathname}${url.search}`);
    const hit = served.get(url.pathname);
    if (!hit) {
      res.statusCode = 404;
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(hit.headers ?? {})) res.setHeader(k, v);
    res.end(hit.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const dir = mkdtempSync(join(tmpdir(), "coco-dcap-"));
  try {
    const addr = server.address();
    const base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    const get = async (url: string) => {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${r.status}`);
      const headers: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        headers[k] = v;
      });
      return { body: new Uint8Array(await r.arrayBuffer()), headers };
    };
    const written = await collateralFetchDcap(quote, "tdx", dir, base, `${base}/root.crl`, get, {
      clock,
      root: pki.root,
    });
    assert.equal(written.length, 6);
    assert.ok(
      seen.some((s) => /^\/tdx\/certification\/v4\/tcb\?fmspc=[0-9A-F]{12}$/.test(s)),
      seen.join(" "),
    );
    assert.ok(seen.includes("/sgx/certification/v4/pckcrl?ca=platform&encoding=der"));
    const claims = attestVerify({
      tee: "tdx",
      evidence: quote,
      collateralDir: dir,
      clock,
      root: pki.root,
    });
    assert.equal(claims.tcb_status, "SWHardeningNeeded");
    // A server that serves collateral failing appraisal leaves nothing behind.
    served.set(`/tdx/certification/v4/qe/identity`, {
      body: c.qeIdentityJson.replace('"isvprodid"', '"isvprodid_"'),
      headers: {
        "SGX-Enclave-Identity-Issuer-Chain": encodeURIComponent(c.qeIdentityIssuerChainPem),
      },
    });
    const dir2 = join(dir, "second");
    await assert.rejects(
      collateralFetchDcap(quote, "tdx", dir2, base, `${base}/root.crl`, get, {
        clock,
        root: pki.root,
      }),
      (e: unknown) => /^ERR_/.test((e as { code: string }).code),
    );
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
