export {
  NVIDIA_MAX_DEVICES,
  type NvidiaArch,
  type NvidiaDeviceEvidence,
  parseNvidiaEvidence,
} from "./evidence.js";
export {
  HOPPER_SIGNATURE_SIZE,
  type MeasurementBlock,
  NVIDIA_REPORT_MAX,
  type NvidiaReport,
  OPAQUE_TYPES,
  parseNvidiaReport,
  parseOpaqueData,
  SPDM_NONCE_SIZE,
} from "./spdm.js";
