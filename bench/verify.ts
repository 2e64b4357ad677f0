/**
 * `npm run bench -- verify [--n N]`: hardware evidence verification throughput with
 * certificates cached, against the bare signature verifications each evidence needs (the limit
 * no verifier can beat), measured in the same run on the same bytes:
 * - TDX quote v4: ours = base64 decode + parse + PCK chain (cached) + QE report signature +
 *   attestation-key binding + quote signature + claims. Limit = 2 × ECDSA P-256 verify + SHA-256.
 * - SNP report (Azure evidence v1's Milan report + VCEK): ours = JSON evidence parse +
 *   re-serialisation + chain (cached parse) + P-384 signature + TCB check + claims.
 *   Limit = 1 × ECDSA P-384 verify.
 * Reads the real fixtures in ../shared (skips with a message when absent).
 */
import { createHash, createPublicKey, verify } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseHclReport } from "../src/tee/az-snp-vtpm/hcl.js";
import { leToBe } from "../src/tee/common/bytes.js";
import { parseCertificate } from "../src/tee/common/certs.js";
import { parseSnpEvidence, snpReportToJson } from "../src/tee/snp/evidence.js";
import { parseSnpReport, SNP_SIGNED_LENGTH } from "../src/tee/snp/report.js";
import { parseDcapQuote } from "../src/tee/tdx/quote.js";
import { snpVendorFromDir } from "../src/trustee/as/verifier/snp/store.js";
import { verifySnpEvidence } from "../src/trustee/as/verifier/snp/verify.js";
import { verifyDcapSignatures } from "../src/trustee/as/verifier/tdx/dcap.js";
import { parseTdxEvidence, verifyTdxEvidence } from "../src/trustee/as/verifier/tdx/verify.js";
import { measure, printHeader, report } from "./harness.js";

const shared =
  process.env.COCO_SHARED_DIR ??
  join(fileURLToPath(new URL("../..", import.meta.url)), "..", "shared");
const fx = (p: string): string => join(shared, "fixtures", p);
const readIf = (p: string): Uint8Array | undefined =>
  existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;

function perOp(name: string, n: number, fn: () => void) {
  return measure(
    name,
    () => {
      for (let i = 0; i < n; i++) fn();
    },
    { runs: 7, warmup: 2 },
  ).then((s) => {
    const k = 1 / n;
    return {
      ...s,
      medianMs: s.medianMs * k,
      minMs: s.minMs * k,
      maxMs: s.maxMs * k,
      extra: { perSecond: Math.round(1000 / (s.medianMs * k)) },
    };
  });
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const n = Number(args[args.indexOf("--n") + 1] ?? 0) || 300;
  printHeader("verify");
  if (!existsSync(fx("evidence/tdx/tdx_quote_4.dat"))) {
    console.log(`skip: ${fx("evidence")} is absent`);
    return;
  }
  const clock = () => new Date("2025-06-01T00:00:00Z");

  // --- TDX ---
  const quote = readFileSync(fx("evidence/tdx/tdx_quote_4.dat"));
  const tdxEvidence = { quote: quote.toString("base64"), cc_eventlog: null };
  const q = parseDcapQuote(new Uint8Array(quote));
  const { pck } = verifyDcapSignatures(q, clock);
  const akKey = createPublicKey({
    key: {
      kty: "EC",
      crv: "P-256",
      x: Buffer.from(q.attestationKey.subarray(0, 32)).toString("base64url"),
      y: Buffer.from(q.attestationKey.subarray(32)).toString("base64url"),
    },
    format: "jwk",
  });
  const pckKey = pck.leaf.publicKey;
  const tdxOurs = await perOp("tdx parse+verify (chain cached)", n, () => {
    verifyTdxEvidence(parseTdxEvidence(tdxEvidence), { clock });
  });
  const tdxLimit = await perOp("tdx limit: 2x P-256 verify + sha256", n, () => {
    verify("sha256", q.qeReport, { key: pckKey, dsaEncoding: "ieee-p1363" }, q.qeReportSignature);
    createHash("sha256").update(q.attestationKey).update(q.qeAuthData).digest();
    verify("sha256", q.signedData, { key: akKey, dsaEncoding: "ieee-p1363" }, q.signature);
  });
  const tdxRatio = report(
    "verify",
    tdxOurs,
    tdxLimit,
    `tdx: goal ours within 2x of the limit, and < 2 ms per quote`,
  );
  console.log(
    `tdx: ${tdxOurs.medianMs.toFixed(3)} ms per quote, ${(1 / tdxRatio).toFixed(2)}x the limit`,
  );

  // --- SNP ---
  const ev1 = JSON.parse(readFileSync(fx("evidence/az-snp-vtpm/evidence-v1.json"), "utf8"));
  const rawReport = parseHclReport(
    new Uint8Array(Buffer.from(ev1.hcl_report, "base64url")),
  ).hwReport;
  const vcekDer = new Uint8Array(Buffer.from(ev1.vcek, "base64url"));
  const snpEvidence = JSON.parse(
    JSON.stringify({
      attestation_report: snpReportToJson(parseSnpReport(rawReport)),
      cert_chain: [{ cert_type: "VCEK", data: Array.from(vcekDer) }],
    }),
  );
  const vendor = snpVendorFromDir(fx("roots/amd"), readIf, clock);
  const vcek = parseCertificate(vcekDer, "VCEK");
  const r = parseSnpReport(rawReport);
  const sig = new Uint8Array(96);
  sig.set(leToBe(r.signatureR, 48), 0);
  sig.set(leToBe(r.signatureS, 48), 48);
  const snpOurs = await perOp("snp parse+verify (certs cached)", n, () => {
    verifySnpEvidence(parseSnpEvidence(snpEvidence), { vendor, clock });
  });
  const snpLimit = await perOp("snp limit: 1x P-384 verify", n, () => {
    verify(
      "sha384",
      r.raw.subarray(0, SNP_SIGNED_LENGTH),
      { key: vcek.publicKey, dsaEncoding: "ieee-p1363" },
      sig,
    );
  });
  const snpRatio = report("verify", snpOurs, snpLimit, "snp: goal ours within 2x of the limit");
  console.log(
    `snp: ${snpOurs.medianMs.toFixed(3)} ms per report, ${(1 / snpRatio).toFixed(2)}x the limit`,
  );
}
