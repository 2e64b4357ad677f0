/** The sample TEE evidence format shared by the sample attester and the sample verifier. */
export {
  createSampleEvidence,
  type ParsedSampleEvidence,
  parseSampleEvidence,
  SAMPLE_DEVICE_SVN,
  SAMPLE_MAX_REPORT_DATA,
  SAMPLE_SVN,
  type SampleEvidence,
  SampleEvidenceError,
  type SampleEvidenceErrorCode,
} from "./evidence.js";
