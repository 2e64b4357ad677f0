/** The sample TEE evidence format shared by the sample attester and the sample verifier. */
export {
  createSampleEvidence,
  isSampleLaunchFieldLength,
  type ParsedSampleEvidence,
  parseSampleEvidence,
  SAMPLE_DEVICE_SVN,
  SAMPLE_LAUNCH_FIELD_LENGTHS,
  SAMPLE_MAX_REPORT_DATA,
  SAMPLE_SVN,
  type SampleEvidence,
  SampleEvidenceError,
  type SampleEvidenceErrorCode,
} from "./evidence.js";
export {
  encodeSampleLaunchField,
  parseSampleLaunchField,
  SAMPLE_LAUNCH_FIELD_ENV,
  toSampleLaunchField,
} from "./launch-field.js";
