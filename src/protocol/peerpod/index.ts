export { type ApfConfig, buildApfConfig, parseApfConfig } from "./apf-config.js";
export {
  buildCloudConfig,
  type CloudConfig,
  MAX_USER_DATA_BYTES,
  MAX_WRITE_FILES,
  parseCloudConfig,
  type WriteFile,
} from "./cloud-config.js";
export { PeerPodProtocolError, type PeerPodProtocolErrorCode } from "./errors.js";
export {
  type CreateVMRequest,
  HYPERVISOR_SERVICE,
  Hypervisor,
  HypervisorMessages,
} from "./hypervisor.js";
export {
  AA_CONFIG_PATH,
  AGENT_PROXY_SOCKET,
  APF_CONFIG_PATH,
  AUTH_FILE_PATH,
  CDH_CONFIG_PATH,
  CIDATA_LABEL,
  DEFAULT_HYPERVISOR_SOCKET,
  FORWARDER_PORT,
  INITDATA_DIGEST_PATH,
  META_DATA_FILE,
  PEERPOD_ANNOTATIONS,
  PEERPOD_DIR,
  USER_DATA_ALLOWED_PATHS,
  USER_DATA_FILE,
  USER_DATA_INITDATA_PATH,
} from "./paths.js";
