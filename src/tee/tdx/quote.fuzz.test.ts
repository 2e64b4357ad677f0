/**
 * Mutation fuzzing of the DCAP quote parser (TDX v4/v5 and SGX v3) and of the PCK certificate
 * extension parser, seeded with the real quotes under ../shared/fixtures/evidence/. Length
 * fields (signature data length, certification data sizes) are inflated to 0xffffffff and the
 * quote is cut at each structure boundary. Property: a value or an `EvidenceError` with a code.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate } from "../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { EvidenceError } from "../common/errors.js";
import { parsePlatformInfo } from "./pck.js";
import { parseDcapQuote } from "./quote.js";

const QUOTES = [
  "fixtures/evidence/tdx/tdx_quote_4.dat",
  "fixtures/evidence/tdx/tdx_quote_5.dat",
  "fixtures/evidence/sgx/occlum_quote.dat",
];
const skip = QUOTES.map(sharedSkip).find((s) => s !== false) ?? false;

/** Header-relative offsets of known length fields and boundaries for each quote's layout. */
function hints(q: ReturnType<typeof parseDcapQuote>): {
  lengthOffsets: number[];
  boundaries: number[];
} {
  const signed = q.signedData.length;
  const certAt = q.certDataOffset;
  return {
    // sig data len (u32) right after the signed bytes; cert data type (u16) + size (u32) at the
    // start of the certification data; for v5 the body descriptor type/size after the header.
    lengthOffsets: [
      signed,
      signed + 4 + 128,
      signed + 4 + 130,
      48,
      50,
      certAt,
      certAt + 2,
      certAt + 4 + 384 + 64,
      certAt + 4 + 384 + 64 + 2,
    ],
    boundaries: [
      0,
      2,
      48,
      54,
      signed,
      signed + 4,
      signed + 4 + 64,
      signed + 4 + 128,
      certAt,
      q.raw.length - q.pckChainPem.length,
    ],
  };
}

/** The PCK leaf certificate (DER) of a quote. */
function pckLeaf(quote: Uint8Array): Uint8Array {
  const pem = Buffer.from(parseDcapQuote(quote).pckChainPem).toString("latin1");
  const first = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  assert.ok(first?.[1]);
  return new Uint8Array(Buffer.from(first[1].replace(/\s+/g, ""), "base64"));
}

describe("DCAP regressions found by fuzzing", { skip }, () => {
  // Found: a PCK leaf whose CRL distribution points extension has an inner length beyond its
  // OCTET STRING threw asn1-schema's uncoded "End of input reached" from getExtension(),
  // because @peculiar/x509 decodes extensions lazily.
  test("rejects a PCK leaf with a malformed CRL distribution points extension (ERR_CERT_PARSE)", () => {
    const der = Buffer.from(pckLeaf(new Uint8Array(readFileSync(sharedPath(QUOTES[0]!)))));
    const at = der.indexOf(Buffer.from("0603551d1f", "hex"));
    assert.ok(at > 0 && der[at + 7] === 0x30);
    der[at + 8] = 0x7f; // inner SEQUENCE length now runs past the extension value
    assert.throws(
      () => parsePlatformInfo(new Uint8Array(der)),
      (e: unknown) => e instanceof EvidenceError && e.code === "ERR_CERT_PARSE",
    );
  });
});

describe("DCAP quote fuzzing", { skip }, () => {
  test("mutated TDX and SGX quotes parse or throw a coded EvidenceError", async (t) => {
    const corpus = QUOTES.map((p) => new Uint8Array(readFileSync(sharedPath(p))));
    const h = corpus.map((b) => hints(parseDcapQuote(b)));
    const stats = await fuzz({
      name: "dcap-quote",
      seed: 0xd0a,
      iterations: 6000,
      errorClass: EvidenceError,
      gen: (rng) => {
        const i = rng.int(corpus.length);
        return mutate(rng, corpus[i]!, { ...h[i]!, donors: corpus });
      },
      target: (b) => parseDcapQuote(b),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });

  test("mutated PCK leaf certificates parse or throw a coded EvidenceError", async (t) => {
    const der = pckLeaf(new Uint8Array(readFileSync(sharedPath(QUOTES[0]!))));
    parsePlatformInfo(der);
    const stats = await fuzz({
      name: "pck-cert",
      seed: 0xd0b,
      iterations: 1500,
      errorClass: EvidenceError,
      gen: (rng) => mutate(rng, der),
      target: (b) => parsePlatformInfo(b),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
