import { parseCsvEvidence } from "../../../../tee/csv/index.js";
import { asVerifierError } from "../tdx/adapt.js";
import type { Verifier, VerifierInput, VerifierResult } from "../types.js";
import { fetchHskCek, type HttpGet, type ReadFile, readHskCek } from "./hsk-cek.js";
import { type CsvVerifyOptions, verifyCsvEvidence } from "./verify.js";

export { verifyCek, verifyCsvChain, verifyCsvSignature, verifyHsk, verifyPek } from "./chain.js";
export {
  fetchHskCek,
  type HttpGet,
  HYGON_CERT_DIR,
  HYGON_KDS_URL,
  hskCekPath,
  hygonKdsHskCekUrl,
  type ReadFile,
  readHskCek,
} from "./hsk-cek.js";
export {
  assertHygonRoot,
  HYGON_HRK_SHA256,
  hygonRootBytes,
  shippedHygonRoot,
} from "./hygon-root.js";
export { CSV_REPORT_DATA_SIZE, type CsvVerifyOptions, verifyCsvEvidence } from "./verify.js";

/** Options of {@link createCsvVerifier}. */
export interface CsvVerifierOptions {
  /** Offline HSK/CEK stores (`<dir>/hsk_cek/<chip>/hsk_cek.cert`), consulted in order. */
  hskCekDirs?: string[];
  /** Hygon's KDS (or a mirror), through Trustee's collateral cache; only when configured. */
  kds?: { baseUrl: string; get: HttpGet };
  /** Accept evidence with no HSK/CEK anywhere, trusting its PEK (claims say `pek_only`). */
  allowPekOnly?: boolean;
  /** Trust anchor instead of the shipped HRK (tests). */
  root?: CsvVerifyOptions["root"];
  readFile?: ReadFile;
}

/** Creates the `csv` verifier (class `cpu`). */
export function createCsvVerifier(o: CsvVerifierOptions = {}): Verifier {
  return {
    tee: "csv",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      const ev = asVerifierError("csv", () => parseCsvEvidence(input.evidence));
      let hskCek = ev.hskCek;
      if (!hskCek && o.readFile && o.hskCekDirs && o.hskCekDirs.length > 0) {
        const read = o.readFile;
        const dirs = o.hskCekDirs;
        hskCek = asVerifierError("csv", () => readHskCek(dirs, ev.serialNumber, read));
      }
      if (!hskCek && o.kds) {
        const kds = o.kds;
        try {
          hskCek = await fetchHskCek(kds.baseUrl, ev.serialNumber, kds.get);
        } catch (err) {
          // Without PEK-only trust the KDS failure is the answer; with it, the claims say so.
          if (!o.allowPekOnly) {
            asVerifierError("csv", () => {
              throw err;
            });
          }
        }
      }
      const claims = asVerifierError("csv", () =>
        verifyCsvEvidence(ev, {
          // An empty digest: no runtime data given (upstream ReportData::NotProvided skips it).
          expectedReportData:
            input.expectedReportData.length > 0 ? input.expectedReportData : undefined,
          hskCek,
          root: o.root,
          allowPekOnly: o.allowPekOnly,
        }),
      );
      return [{ teeClass: "cpu", claims }];
    },
  };
}
