/**
 * CDH configuration in upstream's layout (confidential-data-hub hub/src/config.rs), TOML or
 * JSON. The `[image]` table is kept raw for the image client.
 */
import { readFileSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import { CdhError } from "./errors.js";

/** Default ttrpc socket of CDH. */
export const CDH_SOCKET = "unix:///run/confidential-containers/cdh.sock";
/** Default AA socket. */
export const AA_SOCKET =
  "unix:///run/confidential-containers/attestation-agent/attestation-agent.sock";
/** CDH base folder; credentials must be written under `<base>/kbs`. */
export const CDH_BASE_DIR = "/run/confidential-containers/cdh";

/** One credential fetched at start-up. */
export interface CredentialSpec {
  resourceUri: string;
  path: string;
}

/** Parsed CDH configuration. */
export interface CdhConfig {
  socket: string;
  skipSealedSecretVerification: boolean;
  aaSocket: string;
  kbc: { name: "cc_kbc" | "offline_fs_kbc"; url: string; kbsCert?: string };
  credentials: CredentialSpec[];
  image?: Record<string, unknown>;
  logLevel: string;
}

function table(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new CdhError("ERR_CDH_CONFIG", `${where} must be a table`);
  return v as Record<string, unknown>;
}

function optStr(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new CdhError("ERR_CDH_CONFIG", `${where} must be a string`);
  return v;
}

/** Parses config text. */
export function parseCdhConfig(text: string, format: "toml" | "json" = "toml"): CdhConfig {
  let doc: Record<string, unknown>;
  try {
    doc = format === "json" ? JSON.parse(text) : parseToml(text);
  } catch (err) {
    throw new CdhError(
      "ERR_CDH_CONFIG",
      `CDH config is not valid ${format}: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  const kbc = table(doc.kbc, "kbc");
  const name = kbc.name;
  if (name !== "cc_kbc" && name !== "offline_fs_kbc") {
    throw new CdhError("ERR_CDH_CONFIG", "kbc.name must be cc_kbc or offline_fs_kbc");
  }
  const credentials: CredentialSpec[] = [];
  const creds = doc.credentials ?? [];
  if (!Array.isArray(creds))
    throw new CdhError("ERR_CDH_CONFIG", "credentials must be an array of tables");
  for (const [i, c] of creds.entries()) {
    const t = table(c, `credentials[${i}]`);
    const resourceUri = optStr(t.resource_uri, `credentials[${i}].resource_uri`);
    const path = optStr(t.path, `credentials[${i}].path`);
    if (!resourceUri || !path)
      throw new CdhError("ERR_CDH_CONFIG", `credentials[${i}] needs resource_uri and path`);
    credentials.push({ resourceUri, path });
  }
  const skip = doc.skip_sealed_secret_verification ?? false;
  if (typeof skip !== "boolean")
    throw new CdhError("ERR_CDH_CONFIG", "skip_sealed_secret_verification must be a boolean");
  const cert = optStr(kbc.kbs_cert, "kbc.kbs_cert");
  const out: CdhConfig = {
    socket: optStr(doc.socket, "socket") ?? CDH_SOCKET,
    skipSealedSecretVerification: skip,
    aaSocket: optStr(table(doc.aa, "aa").aa_socket, "aa.aa_socket") ?? AA_SOCKET,
    kbc: { name, url: optStr(kbc.url, "kbc.url") ?? "", ...(cert ? { kbsCert: cert } : {}) },
    credentials,
    logLevel: optStr(table(doc.log, "log").level, "log.level") ?? "info",
  };
  if (doc.image !== undefined) out.image = table(doc.image, "image");
  return out;
}

/** Reads a config file (JSON when it ends in .json). */
export function loadCdhConfig(path: string): CdhConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CdhError(
      "ERR_CDH_CONFIG",
      `cannot read CDH config ${path}: ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  return parseCdhConfig(text, path.endsWith(".json") ? "json" : "toml");
}

/** Defaults without a file: kbc from `aa_kbc_params` (`<kbc>::<url>`), else offline_fs_kbc. */
export function cdhConfigFromKbcParams(params: string | undefined): CdhConfig {
  let kbc: CdhConfig["kbc"] = { name: "offline_fs_kbc", url: "" };
  if (params) {
    const parts = params.split("::");
    if (parts.length !== 2)
      throw new CdhError("ERR_CDH_CONFIG", "aa_kbc_params must be <kbc>::<url>");
    if (parts[0] !== "cc_kbc" && parts[0] !== "offline_fs_kbc") {
      throw new CdhError("ERR_CDH_CONFIG", "aa_kbc_params kbc must be cc_kbc or offline_fs_kbc");
    }
    kbc = { name: parts[0], url: parts[1] ?? "" };
  }
  return {
    socket: CDH_SOCKET,
    skipSealedSecretVerification: false,
    aaSocket: AA_SOCKET,
    kbc,
    credentials: [],
    logLevel: "info",
  };
}
