/**
 * The agent-protocol-forwarder's config (`/run/peerpod/apf.json`), which the adaptor writes into
 * user-data: upstream's `forwarder.Config` JSON names. The TLS material makes the forwarder accept
 * only the adaptor (mutual TLS: a server certificate for the VM, the CA that issued the adaptor's
 * client certificate). It authenticates the transport, not the workload: the host that writes it
 * is untrusted, and the pod's protection stays with the agent policy from init-data.
 */
import { PeerPodProtocolError } from "./errors.js";

/** The forwarder's config, in our names. */
export interface ApfConfig {
  podNamespace: string;
  podName: string;
  /** PEM; with `tlsServerCert` and `tlsClientCa` the forwarder serves mutual TLS. */
  tlsServerKey?: string;
  tlsServerCert?: string;
  tlsClientCa?: string;
}

const MAX_APF_BYTES = 64 * 1024;
const JSON_NAMES = {
  podNamespace: "pod-namespace",
  podName: "pod-name",
  tlsServerKey: "tls-server-key",
  tlsServerCert: "tls-server-cert",
  tlsClientCa: "tls-client-ca",
} as const;
// Upstream fields this forwarder does not use (pod network tunnel, TLS profile, secure comms):
// accepted so upstream's adaptor can write the file, and ignored.
const IGNORED = new Set([
  "pod-network",
  "tls-min-version",
  "tls-cipher-suites",
  "sc-pp-prv",
  "sc-wn-pub",
]);

const bad = (msg: string): never => {
  throw new PeerPodProtocolError("ERR_PEERPOD_APF_CONFIG", `apf.json: ${msg}`);
};

/** The apf.json text for `c` (upstream's field names). */
export function buildApfConfig(c: ApfConfig): string {
  const out: Record<string, string> = {};
  for (const [k, name] of Object.entries(JSON_NAMES)) {
    const v = c[k as keyof ApfConfig];
    if (v !== undefined) out[name] = v;
  }
  return JSON.stringify(out, null, 4);
}

/** Parses apf.json; the TLS fields come all three or none. */
export function parseApfConfig(text: string): ApfConfig {
  if (text.length > MAX_APF_BYTES) bad(`larger than ${MAX_APF_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return bad(`not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return bad("not an object");
  const o = v as Record<string, unknown>;
  const known = new Set<string>(Object.values(JSON_NAMES));
  for (const k of Object.keys(o)) {
    if (!known.has(k) && !IGNORED.has(k)) bad(`unknown key ${JSON.stringify(k)}`);
  }
  const str = (name: string): string | undefined => {
    const x = o[name];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== "string") return bad(`${name} is not a string`);
    return x;
  };
  const c: ApfConfig = {
    podNamespace: str(JSON_NAMES.podNamespace) ?? "",
    podName: str(JSON_NAMES.podName) ?? "",
  };
  const key = str(JSON_NAMES.tlsServerKey);
  const cert = str(JSON_NAMES.tlsServerCert);
  const ca = str(JSON_NAMES.tlsClientCa);
  const tls = [key, cert, ca].filter((x) => x !== undefined && x !== "").length;
  if (tls !== 0 && tls !== 3)
    bad("tls-server-key, tls-server-cert and tls-client-ca come together or not at all");
  if (tls === 3) {
    for (const [n, pem] of [
      [JSON_NAMES.tlsServerKey, key],
      [JSON_NAMES.tlsServerCert, cert],
      [JSON_NAMES.tlsClientCa, ca],
    ] as const) {
      if (!/^-----BEGIN [A-Z ]+-----/.test((pem ?? "").trim())) bad(`${n} is not PEM`);
    }
    c.tlsServerKey = key;
    c.tlsServerCert = cert;
    c.tlsClientCa = ca;
  }
  return c;
}
