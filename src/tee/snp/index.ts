export {
  parseSnpEvidence,
  type SnpCertEntry,
  type SnpEvidence,
  snpReportFromJson,
  snpReportToJson,
} from "./evidence.js";
export {
  decodeTcb,
  isTurinFamily,
  parseSnpReport,
  SNP_LAYOUT,
  SNP_REPORT_SIZE,
  SNP_SIGNED_LENGTH,
  type SnpReport,
  type SnpTcb,
  type SnpVersion,
} from "./report.js";
