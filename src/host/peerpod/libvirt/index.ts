import { HostError } from "../../errors.js";
import type { Provider } from "../provider.js";

/** Options of the libvirt provider. */
export interface LibvirtProviderOptions {
  uri?: string;
  pool?: string;
  poolDir?: string;
  imageDir?: string;
}

/** The libvirt provider: not built yet. */
export function createLibvirtProvider(_o: LibvirtProviderOptions): Provider {
  throw new HostError("ERR_SANDBOX_NOT_BUILT", "the libvirt provider is not built yet");
}
