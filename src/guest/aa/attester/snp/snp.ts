/**
 * The SEV-SNP attester through configfs-tsm (provider `sev_guest`, privlevel 0). Upstream uses
 * the /dev/sev-guest SNP_GET_EXT_REPORT ioctl; configfs-tsm returns the same report (`outblob`)
 * and the host's certificate table (`auxblob`, GHCB extended-report layout). Evidence is
 * upstream's `{"attestation_report": <sev crate JSON>, "cert_chain": [...] | null}`, with the
 * report turned into the sev crate's JSON by the evidence parser in `src/tee/snp`.
 */
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { fitDigest } from "../../../../protocol/initdata/index.js";
import { snpReportToJson } from "../../../../tee/snp/evidence.js";
import { parseSnpReport } from "../../../../tee/snp/report.js";
import { AaError } from "../../errors.js";
import { type TsmFs, tsmReport } from "../tsm/report.js";
import type { Attester } from "../types.js";

/** GUIDs of the GHCB certificate table (SEV-SNP GHCB spec, Table 9 / sev crate CertType). */
export const SNP_CERT_GUIDS: Record<string, string> = {
  "c0b406a4-a803-4952-9743-3fb6014cd0ae": "ARK",
  "4ab7b379-bbac-4fe4-a02f-05aef327c782": "ASK",
  "63da758d-e664-4564-adc5-f4b93be8accd": "VCEK",
  "a8074bc2-a25a-483e-aae6-39c045a0b8a1": "VLEK",
  "92f81bc3-5811-4d3d-97ff-d19f88dc67ea": "CRL",
};

function guidText(b: Uint8Array): string {
  // GUIDs are stored in the mixed-endian EFI layout.
  const h = Buffer.from(b);
  const hex = (x: Buffer) => x.toString("hex");
  return [
    hex(Buffer.from(h.subarray(0, 4)).reverse()),
    hex(Buffer.from(h.subarray(4, 6)).reverse()),
    hex(Buffer.from(h.subarray(6, 8)).reverse()),
    hex(h.subarray(8, 10)),
    hex(h.subarray(10, 16)),
  ].join("-");
}

/** Encodes a GUID text into the table layout (tests, and the inverse of {@link parseCertTable}). */
export function guidBytes(text: string): Uint8Array {
  const p = text.split("-").map((s) => Buffer.from(s, "hex"));
  return Buffer.concat([
    Buffer.from(p[0] ?? []).reverse(),
    Buffer.from(p[1] ?? []).reverse(),
    Buffer.from(p[2] ?? []).reverse(),
    p[3] ?? Buffer.alloc(0),
    p[4] ?? Buffer.alloc(0),
  ]);
}

/** Parses a GHCB certificate table: entries {GUID, offset u32 LE, length u32 LE} until a zero entry. */
export function parseCertTable(
  aux: Uint8Array,
): { cert_type: string | { OTHER: string }; data: number[] }[] {
  const b = Buffer.from(aux);
  const out: { cert_type: string | { OTHER: string }; data: number[] }[] = [];
  for (let o = 0; ; o += 24) {
    if (o + 24 > b.length)
      throw new AaError("ERR_AA_ATTESTER", "SNP certificate table is not terminated");
    const guid = b.subarray(o, o + 16);
    const off = b.readUInt32LE(o + 16);
    const len = b.readUInt32LE(o + 20);
    if (guid.every((x) => x === 0) && off === 0 && len === 0) return out;
    if (off + len > b.length)
      throw new AaError("ERR_AA_ATTESTER", "SNP certificate table entry points outside the table");
    const g = guidText(guid);
    out.push({
      cert_type: SNP_CERT_GUIDS[g] ?? { OTHER: g },
      data: [...b.subarray(off, off + len)],
    });
    if (out.length > 16)
      throw new AaError("ERR_AA_ATTESTER", "SNP certificate table has too many entries");
  }
}

/** Creates the SNP attester. */
export function createSnpAttester(opts: { tsmRoot?: string; tsmFs?: TsmFs } = {}): Attester {
  const report = async (reportData: Uint8Array) => {
    if (reportData.length > 64)
      throw new AaError("ERR_AA_REPORT_DATA", "SNP report data is at most 64 bytes");
    return tsmReport({
      provider: "sev_guest",
      inblob: fitDigest(reportData, 64),
      privlevel: 0,
      readAuxblob: true,
      ...(opts.tsmRoot ? { root: opts.tsmRoot } : {}),
      ...(opts.tsmFs ? { fs: opts.tsmFs } : {}),
    });
  };
  const parse = (outblob: Uint8Array) => {
    try {
      return parseSnpReport(outblob);
    } catch (err) {
      throw new AaError(
        "ERR_AA_ATTESTER",
        `the kernel returned an SNP report that does not parse: ${(err as Error).message}`,
      );
    }
  };
  return {
    tee: "snp",
    async getEvidence(reportData) {
      const { outblob, auxblob } = await report(reportData);
      const certs = auxblob && auxblob.length > 0 ? parseCertTable(auxblob) : [];
      return {
        attestation_report: snpReportToJson(parse(outblob)),
        cert_chain: certs.length > 0 ? certs : null,
      };
    },
    async bindInitData(digest) {
      const { outblob } = await report(new Uint8Array(64));
      if (!constantTimeEqual(parse(outblob).hostData, fitDigest(digest, 32))) {
        throw new AaError(
          "ERR_AA_INITDATA_MISMATCH",
          "init-data digest does not match SNP HOST_DATA",
        );
      }
      return "bound";
    },
  };
}
