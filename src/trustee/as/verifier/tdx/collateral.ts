import { verify as cryptoVerify, type X509Certificate } from "node:crypto";
import {
  assertIssuedBy,
  commonName,
  parsePemBundle,
  publicKeyOf,
} from "../../../../tee/common/certs.js";
import { type Crl, normalizeSerial, parseCrl } from "../../../../tee/common/crl.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import { sgxField } from "../../../../tee/sgx/body.js";
import { tdField } from "../../../../tee/tdx/body.js";
import {
  type EnclaveIdentity,
  parseEnclaveIdentity,
  parseTcbInfo,
  type SignedCollateral,
  type TcbInfo,
  type TcbLevel,
} from "../../../../tee/tdx/collateral.js";
import type { DcapQuote } from "../../../../tee/tdx/quote.js";
import type { PckChain } from "./dcap.js";
import { intelRoot } from "./dcap.js";

/**
 * Operator-supplied DCAP collateral, as Intel PCS v4 (or a PCCS) serves it: TCB Info and QE
 * Identity documents with their issuer chains (response headers `TCB-Info-Issuer-Chain`,
 * `SGX-Enclave-Identity-Issuer-Chain`), the PCK CRL of the PCK CA that issued the quote's PCK
 * certificate, and the Root CA CRL.
 */
export interface DcapCollateral {
  tcbInfoJson: string;
  tcbInfoIssuerChainPem: string;
  qeIdentityJson: string;
  qeIdentityIssuerChainPem: string;
  /** The PCK CRL(s): Platform and/or Processor CA; the one the quote's PCK CA signed is used. */
  pckCrlDer?: Uint8Array | Uint8Array[];
  rootCaCrlDer?: Uint8Array;
  /** Trust anchor for the collateral chains; tests only (default: the pinned Intel root). */
  root?: X509Certificate;
}

/** TCB statuses that still verify (upstream's list); anything else is terminal. */
export const ACCEPTED_TCB_STATUSES = [
  "UpToDate",
  "SWHardeningNeeded",
  "ConfigurationNeeded",
  "ConfigurationAndSWHardeningNeeded",
  "OutOfDate",
  "OutOfDateConfigurationNeeded",
  "TDRelaunchAdvised",
  "TDRelaunchAdvisedConfigurationNeeded",
] as const;

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function date(s: string, what: string): Date {
  const d = new Date(s);
  if (Number.isNaN(d.getTime()))
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `${what} is not a date`);
  return d;
}

/** Checks an issuer chain (signing cert, root) and the ECDSA P-256 signature over the text. */
function verifySigned<T>(
  c: SignedCollateral<T>,
  chainPem: string,
  root: X509Certificate,
  now: Date,
  what: string,
): X509Certificate {
  const certs = parsePemBundle(chainPem, `${what} issuer chain`);
  const signer = certs[0];
  const chainRoot = certs[certs.length - 1];
  if (!signer || !chainRoot || certs.length !== 2) {
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      `${what} issuer chain must hold the signing certificate and the root`,
    );
  }
  if (!Buffer.from(chainRoot.raw).equals(Buffer.from(root.raw))) {
    throw new EvidenceError(
      "ERR_CERT_ROOT",
      `${what} issuer chain does not end in the pinned Intel SGX Root CA`,
    );
  }
  assertIssuedBy(signer, root, now, `${what} signing certificate`);
  const ok = cryptoVerify(
    "sha256",
    c.signedText,
    { key: publicKeyOf(signer), dsaEncoding: "ieee-p1363" },
    c.signature,
  );
  if (!ok)
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      `${what} signature does not verify with ${commonName(signer)}`,
    );
  return signer;
}

function verifyCrl(der: Uint8Array, issuer: X509Certificate, what: string): Crl {
  const crl = parseCrl(der, what);
  let ok = false;
  try {
    ok = cryptoVerify("sha256", crl.tbs, publicKeyOf(issuer), crl.signature);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      `${what} is not signed by ${commonName(issuer)}`,
    );
  return crl;
}

function isRevoked(crl: Crl, cert: X509Certificate): boolean {
  return crl.revoked.has(normalizeSerial(cert.serialNumber));
}

const hexEq = (a: string, b: Uint8Array): boolean =>
  a.toLowerCase() === Buffer.from(b).toString("hex");

function maskedEq(value: Uint8Array, mask: string, expected: string): boolean {
  const m = Buffer.from(mask, "hex");
  const e = Buffer.from(expected, "hex");
  if (m.length !== value.length || e.length !== value.length) return false;
  return value.every((b, i) => (b & (m[i] ?? 0)) === (e[i] ?? 0));
}

/** The first TCB level the platform meets (TCB Info v3 order: newest first). */
function platformLevel(
  info: TcbInfo,
  pck: PckChain,
  teeTcbSvn: Uint8Array | null,
  tdxStart: number,
): TcbLevel | null {
  for (const level of info.tcbLevels) {
    const sgxOk = level.tcb.sgxtcbcomponents.every(
      (c, i) => (pck.platform.tcbComponents[i] ?? 0) >= c.svn,
    );
    if (!sgxOk || pck.platform.pcesvn < level.tcb.pcesvn) continue;
    if (teeTcbSvn) {
      const comps = level.tcb.tdxtcbcomponents;
      if (comps?.length !== 16) continue;
      if (!comps.every((c, i) => i < tdxStart || (teeTcbSvn[i] ?? 0) >= c.svn)) continue;
    }
    return level;
  }
  return null;
}

/** QVL's convergence of the platform status with a QE (or TDX module) status of OutOfDate. */
function converge(platform: string, other: string): string {
  if (other === "Revoked") return "Revoked";
  if (other !== "OutOfDate") return platform;
  if (platform === "UpToDate" || platform === "SWHardeningNeeded") return "OutOfDate";
  if (platform === "ConfigurationNeeded" || platform === "ConfigurationAndSWHardeningNeeded")
    return "OutOfDateConfigurationNeeded";
  return platform;
}

function le16(b: Uint8Array): number {
  return (b[0] ?? 0) | ((b[1] ?? 0) << 8);
}

/**
 * Appraises a verified quote against collateral, as Intel's QVL does: collateral signatures
 * and chains to the pinned root, CRLs (PCK certificate, PCK CA, TCB signer), FMSPC/PCE-ID,
 * the platform's TCB level (SGX components + PCESVN; TDX: TEE TCB SVN, SEAM signer and
 * attributes, TDX module identity), the QE identity, then the converged status. Returns
 * upstream's supplemental claims; a terminal status (Revoked, no matching level, QE identity
 * mismatch) throws ERR_TCB_STATUS.
 */
export function tcbClaims(
  q: DcapQuote,
  pck: PckChain,
  c: DcapCollateral,
  now: Date,
): Record<string, unknown> {
  const root = c.root ?? intelRoot();
  const isTdx = q.bodyType !== "sgx";
  const tcbDoc = parseTcbInfo(c.tcbInfoJson);
  const qeDoc = parseEnclaveIdentity(c.qeIdentityJson);
  const tcbSigner = verifySigned(tcbDoc, c.tcbInfoIssuerChainPem, root, now, "TCB Info");
  const qeSigner = verifySigned(qeDoc, c.qeIdentityIssuerChainPem, root, now, "QE Identity");
  const info = tcbDoc.body;
  const qe: EnclaveIdentity = qeDoc.body;

  const issue: Date[] = [
    date(info.issueDate, "tcbInfo.issueDate"),
    date(qe.issueDate, "enclaveIdentity.issueDate"),
  ];
  const expiry: Date[] = [
    date(info.nextUpdate, "tcbInfo.nextUpdate"),
    date(qe.nextUpdate, "enclaveIdentity.nextUpdate"),
  ];
  for (const cert of [pck.leaf, pck.intermediate, tcbSigner, qeSigner])
    expiry.push(new Date(cert.validTo));

  let pckCrlNum: number | null = null;
  let rootCrlNum: number | null = null;
  if (!c.pckCrlDer || (Array.isArray(c.pckCrlDer) && c.pckCrlDer.length === 0) || !c.rootCaCrlDer) {
    throw new EvidenceError(
      "ERR_COLLATERAL_MISSING",
      "DCAP collateral needs the PCK CRL and the Root CA CRL",
    );
  }
  const candidates = Array.isArray(c.pckCrlDer) ? c.pckCrlDer : [c.pckCrlDer];
  let pckCrl: Crl | null = null;
  let lastError: unknown;
  for (const der of candidates) {
    try {
      pckCrl = verifyCrl(der, pck.intermediate, "PCK CRL");
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (!pckCrl) throw lastError;
  const rootCrl = verifyCrl(c.rootCaCrlDer, root, "Root CA CRL");
  for (const crl of [pckCrl, rootCrl]) {
    issue.push(crl.thisUpdate);
    if (crl.nextUpdate) expiry.push(crl.nextUpdate);
  }
  pckCrlNum = pckCrl.crlNumber;
  rootCrlNum = rootCrl.crlNumber;
  if (isRevoked(pckCrl, pck.leaf))
    throw new EvidenceError(
      "ERR_TCB_STATUS",
      "the PCK certificate is revoked (TCB status Revoked)",
    );
  for (const cert of [pck.intermediate, tcbSigner, qeSigner]) {
    if (isRevoked(rootCrl, cert))
      throw new EvidenceError(
        "ERR_TCB_STATUS",
        `${commonName(cert)} is revoked by the Root CA CRL`,
      );
  }

  const wantId = isTdx ? "TDX" : "SGX";
  if ((info.id ?? "SGX") !== wantId) {
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      `TCB Info is for ${info.id ?? "SGX"}, the quote is ${wantId}`,
    );
  }
  if (!hexEq(info.fmspc, pck.platform.fmspc) || !hexEq(info.pceId, pck.platform.pceid)) {
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      "TCB Info FMSPC/PCE-ID differ from the PCK certificate's",
    );
  }

  let teeTcbSvn: Uint8Array | null = null;
  let tdxStart = 0;
  let moduleStatus: string | null = null;
  const advisories = new Set<string>();
  if (isTdx) {
    teeTcbSvn = tdField(q.body, "tcb_svn");
    const mod = info.tdxModule;
    if (!mod) throw new EvidenceError("ERR_COLLATERAL_INVALID", "TDX TCB Info lacks tdxModule");
    if (
      !hexEq(mod.mrsigner, tdField(q.body, "mrsigner_seam")) ||
      !maskedEq(tdField(q.body, "seam_attributes"), mod.attributesMask, mod.attributes)
    ) {
      throw new EvidenceError(
        "ERR_TCB_STATUS",
        "TDX module signer or attributes differ from TCB Info",
      );
    }
    const major = teeTcbSvn[1] ?? 0;
    if (major > 0 && info.tdxModuleIdentities) {
      // TDX module 1.5+: the module identity TDX_<major> rates teeTcbSvn[0]; the TCB level
      // comparison then starts at component 2 (QVL TdxModuleIdentity handling).
      tdxStart = 2;
      const id = `TDX_${major.toString(16).toUpperCase().padStart(2, "0")}`;
      const ident = info.tdxModuleIdentities.find((m) => m.id === id);
      if (!ident)
        throw new EvidenceError("ERR_TCB_STATUS", `TCB Info has no TDX module identity ${id}`);
      const lvl = ident.tcbLevels.find((l) => (teeTcbSvn?.[0] ?? 0) >= l.tcb.isvsvn);
      if (!lvl)
        throw new EvidenceError("ERR_TCB_STATUS", `TDX module ${id} SVN is below every TCB level`);
      moduleStatus = lvl.tcbStatus;
      for (const a of lvl.advisoryIDs ?? []) advisories.add(a);
    }
  }
  const level = platformLevel(info, pck, teeTcbSvn, tdxStart);
  if (!level)
    throw new EvidenceError(
      "ERR_TCB_STATUS",
      "the platform TCB is below every TCB Info level (TCB not supported)",
    );
  for (const a of level.advisoryIDs ?? []) advisories.add(a);

  // QE identity (Enclave Identity v2): the QE report must be the identified enclave.
  const qeReport = q.qeReport;
  if (qe.id !== (isTdx ? "TD_QE" : "QE")) {
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      `QE Identity is for ${qe.id}, the quote needs ${isTdx ? "TD_QE" : "QE"}`,
    );
  }
  const qeOk =
    hexEq(qe.mrsigner, sgxField(qeReport, "mr_signer")) &&
    le16(sgxField(qeReport, "isv_prod_id")) === qe.isvprodid &&
    maskedEq(sgxField(qeReport, "misc_select"), qe.miscselectMask, qe.miscselect) &&
    maskedEq(
      new Uint8Array([
        ...sgxField(qeReport, "attributes.flags"),
        ...sgxField(qeReport, "attributes.xfrm"),
      ]),
      qe.attributesMask,
      qe.attributes,
    );
  if (!qeOk)
    throw new EvidenceError("ERR_TCB_STATUS", "the quoting enclave does not match the QE Identity");
  const qeSvn = le16(sgxField(qeReport, "isv_svn"));
  const qeLevel = qe.tcbLevels.find((l) => qeSvn >= l.tcb.isvsvn);
  const qeStatus = qeLevel?.tcbStatus ?? "Revoked";
  for (const a of qeLevel?.advisoryIDs ?? []) advisories.add(a);

  let status = converge(level.tcbStatus, qeStatus);
  if (moduleStatus) status = converge(status, moduleStatus);
  if (!(ACCEPTED_TCB_STATUSES as readonly string[]).includes(status)) {
    throw new EvidenceError("ERR_TCB_STATUS", `TCB status is ${status}`);
  }
  const expired = expiry.some((d) => d < now);
  const p = pck.platform;
  const claims: Record<string, unknown> = {
    earliest_issue_date: rfc3339(new Date(Math.min(...issue.map((d) => d.getTime())))),
    latest_issue_date: rfc3339(new Date(Math.max(...issue.map((d) => d.getTime())))),
    earliest_expiration_date: rfc3339(new Date(Math.min(...expiry.map((d) => d.getTime())))),
    tcb_date: rfc3339(date(level.tcbDate, "tcbDate")),
    pck_crl_num: pckCrlNum,
    root_ca_crl_num: rootCrlNum,
    tcb_eval_num: Math.min(info.tcbEvaluationDataNumber, qe.tcbEvaluationDataNumber),
    sgx_type:
      p.sgxType === 0
        ? "Standard"
        : p.sgxType === 1
          ? "Scalable"
          : p.sgxType === 2
            ? "Scalable with Integrity"
            : `Unknown (${p.sgxType})`,
    tcb_status: status,
    collateral_expiration_status: expired ? "1" : "0",
    advisory_ids: [...advisories],
  };
  if (p.sgxType > 0) {
    claims.is_dynamic_platform = p.dynamicPlatform === true;
    claims.is_cached_keys = p.cachedKeys === true;
    claims.is_smt_enabled = p.smtEnabled === true;
  }
  return claims;
}
