import { EvidenceError } from "../common/errors.js";

/**
 * TPM 2.0 quote structures (TPM 2.0 Library Part 2: TPMS_ATTEST §10.12.12, TPMS_QUOTE_INFO
 * §10.12.4, TPML_PCR_SELECTION §10.9.7). All integers big-endian.
 */
export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = 0x8018;
export const TPM_ALG_SHA256 = 0x000b;

/** A parsed TPMS_ATTEST of type quote. */
export interface TpmQuoteInfo {
  qualifiedSigner: Uint8Array;
  /** The nonce the verifier supplied (extraData). */
  extraData: Uint8Array;
  /** PCR selections: hash algorithm and the selected PCR indices, ascending. */
  selections: { hash: number; pcrs: number[] }[];
  pcrDigest: Uint8Array;
}

class BeReader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}
  need(n: number, f: string): void {
    if (this.pos + n > this.b.length) {
      throw new EvidenceError("ERR_EVIDENCE_TRUNCATED", `TPMS_ATTEST: ${f} runs past the end`, {
        offset: this.pos,
      });
    }
  }
  u8(f: string): number {
    this.need(1, f);
    return this.b[this.pos++] ?? 0;
  }
  u16(f: string): number {
    return (this.u8(f) << 8) | this.u8(f);
  }
  u32(f: string): number {
    return ((this.u16(f) << 16) | this.u16(f)) >>> 0;
  }
  take(n: number, f: string): Uint8Array {
    this.need(n, f);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  tpm2b(f: string): Uint8Array {
    return this.take(this.u16(`${f} size`), f);
  }
}

/** Parses a marshalled TPMS_ATTEST that must be a quote. */
export function parseTpmQuoteMessage(msg: Uint8Array): TpmQuoteInfo {
  const r = new BeReader(msg);
  if (r.u32("magic") !== TPM_GENERATED_VALUE) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "TPMS_ATTEST magic is not TPM_GENERATED_VALUE",
      { offset: 0 },
    );
  }
  if (r.u16("type") !== TPM_ST_ATTEST_QUOTE) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "TPMS_ATTEST is not a quote", { offset: 4 });
  }
  const qualifiedSigner = r.tpm2b("qualifiedSigner");
  const extraData = r.tpm2b("extraData");
  r.take(17, "clockInfo");
  r.take(8, "firmwareVersion");
  const count = r.u32("pcrSelect count");
  if (count > 16)
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `TPMS_ATTEST selects ${count} banks`, {
      offset: r.pos - 4,
    });
  const selections: TpmQuoteInfo["selections"] = [];
  for (let i = 0; i < count; i++) {
    const hash = r.u16("pcrSelection hash");
    const size = r.u8("sizeofSelect");
    const bits = r.take(size, "pcrSelect");
    const pcrs: number[] = [];
    bits.forEach((byte, j) => {
      for (let k = 0; k < 8; k++) if ((byte >> k) & 1) pcrs.push(j * 8 + k);
    });
    selections.push({ hash, pcrs });
  }
  const pcrDigest = r.tpm2b("pcrDigest");
  if (r.pos !== msg.length) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "TPMS_ATTEST has trailing bytes", {
      offset: r.pos,
    });
  }
  return { qualifiedSigner, extraData, selections, pcrDigest };
}
