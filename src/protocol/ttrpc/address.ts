import { TtrpcError } from "./errors.js";

/**
 * Turns a ttrpc address into a socket path for node:net. Accepts `unix:///abs/path` (upstream's
 * form), `unix://@name` (Linux abstract socket) and a bare absolute path. Other schemes
 * (vsock://, tcp://) are refused: the guest components listen on unix sockets only.
 */
export function socketPathOf(address: string): string {
  let rest = address;
  if (address.startsWith("unix://")) rest = address.slice("unix://".length);
  else if (address.includes("://")) {
    throw new TtrpcError(
      "ERR_TTRPC_BAD_ADDRESS",
      `unsupported ttrpc address scheme in ${JSON.stringify(address)}: only unix:// is accepted`,
    );
  }
  if (rest.startsWith("@") && rest.length > 1) return `\0${rest.slice(1)}`;
  if (!rest.startsWith("/") || rest.includes("\0")) {
    throw new TtrpcError(
      "ERR_TTRPC_BAD_ADDRESS",
      `ttrpc address ${JSON.stringify(address)} must name an absolute socket path`,
    );
  }
  return rest;
}
