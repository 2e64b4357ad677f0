/**
 * Hostile VCEK/VLEK certificates for the VEK TCB reader: mutated DER that node's X509
 * parser still accepts must give a coded `EvidenceError`, never an exception from the ASN.1
 * library underneath.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate } from "../../../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import { parseDcapQuote } from "../../../../tee/tdx/quote.js";
import { readVekTcb } from "./vek.js";

const VCEK = "fixtures/evidence/snp/test-vcek.der";
const VLEK = "fixtures/evidence/snp/test-vlek.der";
const TDX = "fixtures/evidence/tdx/tdx_quote_4.dat";

describe("VEK certificate fuzzing", {
  skip: sharedSkip(VCEK) || sharedSkip(VLEK) || sharedSkip(TDX),
}, () => {
  // Found by fuzzing the PCK reader (same library, same lazy decoding): a certificate with a
  // malformed standard extension passed node's parser and then threw asn1-schema's uncoded
  // "End of input reached" from getExtension().
  test("a certificate with a malformed CRL distribution points extension is ERR_CERT_PARSE", () => {
    const pem = Buffer.from(
      parseDcapQuote(new Uint8Array(readFileSync(sharedPath(TDX)))).pckChainPem,
    ).toString("latin1");
    const b64 = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem)?.[1];
    assert.ok(b64);
    const der = Buffer.from(b64.replace(/\s+/g, ""), "base64");
    const at = der.indexOf(Buffer.from("0603551d1f", "hex"));
    assert.ok(at > 0 && der[at + 7] === 0x30);
    der[at + 8] = 0x7f;
    assert.throws(
      () => readVekTcb(new X509Certificate(der)),
      (e: unknown) => e instanceof EvidenceError && e.code === "ERR_CERT_PARSE",
    );
  });

  test("mutated VEKs give TCB values or a coded EvidenceError", async (t) => {
    const corpus = [VCEK, VLEK].map((p) => new Uint8Array(readFileSync(sharedPath(p))));
    let rejectedByNode = 0;
    const stats = await fuzz({
      name: "vek",
      seed: 0xfe4,
      iterations: 1500,
      errorClass: EvidenceError,
      gen: (rng) => mutate(rng, rng.pick(corpus)),
      target: (der) => {
        let cert: X509Certificate;
        try {
          cert = new X509Certificate(der);
        } catch {
          rejectedByNode++; // the verifier parses with node first (tee/common/certs.ts)
          return;
        }
        readVekTcb(cert);
      },
    });
    t.diagnostic(`${describeStats(stats)}; node refused ${rejectedByNode}`);
    assert.ok(stats.coded.size > 0);
  });
});
