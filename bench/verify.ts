/**
 * `npm run bench -- verify [--n N]`: hardware evidence verification throughput with
 * certificates cached, against the bare signature verifications each evidence needs (the limit
 * no verifier can beat), measured in the same run on the same bytes:
 * - TDX quote v4: ours = base64 decode + parse + PCK chain (cached) + QE report signature +
 *   attestation-key binding + quote signature + claims. Limit = 2 × ECDSA P-256 verify + SHA-256.
 * - SNP report (Azure evidence v1's Milan report + VCEK): ours = JSON evidence parse +
 *   re-serialisation + chain (cached parse) + P-384 signature + TCB check + claims.
 *   Limit = 1 × ECDSA P-384 verify.
 * - CCA token (the real example token): ours = CBOR collection + two COSE_Sign1 decodes +
 *   claims parse + CPAK lookup + platform and realm ES384 signatures + RAK binding + platform
 *   reference values + report/init-data + claims. Limit = 2 × ECDSA P-384 verify (the two
 *   COSE signatures over their prepared Sig_structures).
 * - NVIDIA Hopper GPU (the real report and chain, as upstream's evidence JSON): ours = JSON +
 *   hex decode + SPDM parse + chain (cached) + FWID + P-384 signature + nonce + claims.
 *   Limit = 1 × ECDSA P-384 verify.
 * Reads the real fixtures in ../shared (skips with a message when absent).
 */
import { createHash, createPublicKey, verify } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { coseSign1ToBeSigned } from "../src/crypto/cose.js";
import { parseHclReport } from "../src/tee/az-snp-vtpm/hcl.js";
import { parseCcaToken, realmKeyOf } from "../src/tee/cca/index.js";
import { leToBe } from "../src/tee/common/bytes.js";
import { parseCertificate, publicKeyOf } from "../src/tee/common/certs.js";
import { parseNvidiaEvidence, parseNvidiaReport } from "../src/tee/nvidia/index.js";
import { parseSnpEvidence, snpReportToJson } from "../src/tee/snp/evidence.js";
import { parseSnpReport, SNP_SIGNED_LENGTH } from "../src/tee/snp/report.js";
import { parseDcapQuote } from "../src/tee/tdx/quote.js";
import {
  parseCcaReferenceValues,
  parseCcaTrustAnchors,
  verifyCcaToken,
} from "../src/trustee/as/verifier/cca/index.js";
import { verifyNvidiaChain, verifyNvidiaDevice } from "../src/trustee/as/verifier/nvidia/index.js";
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

  // --- CCA ---
  if (existsSync(fx("evidence/cca/cca-example-token.cbor"))) {
    const token = new Uint8Array(readFileSync(fx("evidence/cca/cca-example-token.cbor")));
    const trustAnchors = parseCcaTrustAnchors(
      readFileSync(fx("evidence/cca/tastore.json"), "utf8"),
    );
    const referenceValues = parseCcaReferenceValues(
      readFileSync(fx("evidence/cca/rvstore.json"), "utf8"),
    );
    const t = parseCcaToken(token);
    const challenge = t.realmClaims.challenge;
    const cpak = trustAnchors[0]?.key;
    if (!cpak) throw new Error("no CPAK in tastore.json");
    const rak = realmKeyOf(t.realmClaims.publicKey, false);
    const pTbs = coseSign1ToBeSigned(t.platform.protectedBytes, t.platform.payload);
    const rTbs = coseSign1ToBeSigned(t.realm.protectedBytes, t.realm.payload);
    const ccaOurs = await perOp("cca parse+verify", n, () => {
      verifyCcaToken(parseCcaToken(token), {
        trustAnchors,
        referenceValues,
        expectedReportData: challenge,
      });
    });
    const ccaLimit = await perOp("cca limit: 2x P-384 verify", n, () => {
      verify("sha384", pTbs, { key: cpak, dsaEncoding: "ieee-p1363" }, t.platform.signature);
      verify("sha384", rTbs, { key: rak, dsaEncoding: "ieee-p1363" }, t.realm.signature);
    });
    const ccaRatio = report("verify", ccaOurs, ccaLimit, "cca: goal ours within 2x of the limit");
    console.log(
      `cca: ${ccaOurs.medianMs.toFixed(3)} ms per token, ${(1 / ccaRatio).toFixed(2)}x the limit`,
    );
  } else {
    console.log("skip cca: ../shared/fixtures/evidence/cca is absent");
  }

  // --- NVIDIA GPU ---
  if (existsSync(fx("evidence/nvidia/hopperAttestationReport.txt"))) {
    const gpuEvidence = {
      device_evidence_list: [
        {
          arch: "HOPPER",
          uuid: "bench",
          evidence: readFileSync(fx("evidence/nvidia/hopperAttestationReport.txt"), "utf8"),
          certificate: readFileSync(fx("evidence/nvidia/hopper_cert_chain_case1.txt")).toString(
            "base64",
          ),
        },
      ],
    };
    const nonce = Buffer.from(
      "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
      "hex",
    );
    const [dev] = parseNvidiaEvidence(gpuEvidence);
    if (!dev) throw new Error("no device");
    const rep = parseNvidiaReport(dev.report);
    const leaf = verifyNvidiaChain(dev.certificateChain, undefined, clock);
    const gpuOurs = await perOp("gpu parse+verify (chain cached)", n, () => {
      for (const d of parseNvidiaEvidence(gpuEvidence)) {
        verifyNvidiaDevice(d, { expectedReportData: nonce, clock });
      }
    });
    const gpuLimit = await perOp("gpu limit: 1x P-384 verify", n, () => {
      verify(
        "sha384",
        rep.signedBytes,
        { key: publicKeyOf(leaf), dsaEncoding: "ieee-p1363" },
        rep.signature,
      );
    });
    const gpuRatio = report("verify", gpuOurs, gpuLimit, "gpu: goal ours within 2x of the limit");
    console.log(
      `gpu: ${gpuOurs.medianMs.toFixed(3)} ms per report, ${(1 / gpuRatio).toFixed(2)}x the limit`,
    );
  } else {
    console.log("skip gpu: ../shared/fixtures/evidence/nvidia is absent");
  }
}
