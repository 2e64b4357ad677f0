import { CocoError } from "../../errors.js";

/** Codes for pod-VM start-up failures (user-data, forwarder). */
export type PodVmErrorCode =
  | "ERR_PODVM_USER_DATA"
  | "ERR_PODVM_INITDATA"
  | "ERR_PODVM_FORWARDER"
  | "ERR_PODVM_AGENT"
  | "ERR_PODVM_ARGS";

/** A pod-VM start-up failure; the VM does not serve the agent. */
export class PodVmError extends CocoError<PodVmErrorCode> {}
