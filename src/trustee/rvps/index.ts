/** Reference Value Provider Service. */
export {
  createRvps,
  type ReferenceValueRecord,
  type Rvps,
  RvpsError,
  type RvpsErrorCode,
  type RvpsOptions,
} from "./rvps.js";
