/** Reference Value Provider Service. */
export {
  createRvps,
  MEASUREMENTS_TYPE,
  type ReferenceValueInfo,
  type ReferenceValueRecord,
  type Rvps,
  RvpsError,
  type RvpsErrorCode,
  type RvpsOptions,
} from "./rvps.js";
