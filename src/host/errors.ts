import { CocoError } from "../errors.js";

/** Codes for host-side (untrusted) runtime failures. */
export type HostErrorCode =
  | "ERR_POD_MANIFEST"
  | "ERR_POD_UNSUPPORTED"
  | "ERR_POD_INITDATA"
  | "ERR_POD_NOT_FOUND"
  | "ERR_POD_EXISTS"
  | "ERR_POD_INTERRUPTED"
  | "ERR_SANDBOX_START"
  | "ERR_SANDBOX_NOT_BUILT"
  | "ERR_SANDBOX_RUNTIME_CLASS"
  | "ERR_AGENT_CALL"
  | "ERR_POLICY_DENIED"
  | "ERR_POLICY_GENERATE"
  | "ERR_SHIM_ARGS"
  | "ERR_SHIM_SPEC"
  | "ERR_SHIM_UNSUPPORTED"
  | "ERR_SHIM_NOT_FOUND"
  | "ERR_SHIM_STATE"
  | "ERR_PEERPOD_PROVIDER"
  | "ERR_PEERPOD_REQUEST"
  | "ERR_PEERPOD_INSTANCE_TYPE"
  | "ERR_PEERPOD_START"
  | "ERR_PEERPOD_ADAPTOR";

/** A host-side failure. */
export class HostError extends CocoError<HostErrorCode> {}
