export {
  fitDigest,
  INITDATA_ALGORITHMS,
  INITDATA_VERSION,
  type InitData,
  InitDataError,
  type InitDataErrorCode,
  MAX_INITDATA_BYTES,
  parseInitData,
} from "./initdata.js";
