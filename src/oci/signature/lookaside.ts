/**
 * registries.d configuration (containers-registries.d YAML) and lookaside signature storage:
 * `<base>/<repository path>@<alg>=<hex>/signature-<n>`, read sequentially from n = 1.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseDigest } from "../digest.js";
import { OciError } from "../errors.js";
import type { ImageReference } from "../reference.js";
import { dockerScopes } from "./policy.js";

/** Lookaside URLs for one scope. */
export interface LookasideEntry {
  lookaside?: string;
  lookasideStaging?: string;
}

/** Merged registries.d configuration. */
export interface RegistriesD {
  defaultDocker?: LookasideEntry;
  docker: Map<string, LookasideEntry>;
}

function entry(v: unknown, where: string): LookasideEntry {
  if (v === null || typeof v !== "object")
    throw new OciError("ERR_OCI_SIGSTORE_CONFIG", `${where} must be a mapping`);
  const o = v as Record<string, unknown>;
  const e: LookasideEntry = {};
  const read = o.lookaside ?? o.sigstore;
  const write = o["lookaside-staging"] ?? o["sigstore-staging"];
  if (read !== undefined) {
    if (typeof read !== "string")
      throw new OciError("ERR_OCI_SIGSTORE_CONFIG", `${where}.lookaside must be a URL string`);
    e.lookaside = read;
  }
  if (write !== undefined) {
    if (typeof write !== "string")
      throw new OciError(
        "ERR_OCI_SIGSTORE_CONFIG",
        `${where}.lookaside-staging must be a URL string`,
      );
    e.lookasideStaging = write;
  }
  return e;
}

/** Parses one YAML document and merges it into `into` (conflicting duplicates are errors). */
export function mergeRegistriesD(
  into: RegistriesD,
  yamlText: string,
  name = "config",
): RegistriesD {
  let doc: unknown;
  try {
    doc = parseYaml(yamlText, { maxAliasCount: 10 });
  } catch (err) {
    throw new OciError("ERR_OCI_SIGSTORE_CONFIG", `${name}: not valid YAML`, { cause: err });
  }
  if (doc === null || doc === undefined) return into;
  if (typeof doc !== "object")
    throw new OciError("ERR_OCI_SIGSTORE_CONFIG", `${name}: not a mapping`);
  const d = doc as Record<string, unknown>;
  if (d["default-docker"] !== undefined) {
    const e = entry(d["default-docker"], "default-docker");
    if (
      into.defaultDocker !== undefined &&
      JSON.stringify(into.defaultDocker) !== JSON.stringify(e)
    ) {
      throw new OciError(
        "ERR_OCI_SIGSTORE_CONFIG",
        `${name}: default-docker is defined twice with different values`,
      );
    }
    into.defaultDocker = e;
  }
  if (d.docker !== undefined) {
    if (d.docker === null || typeof d.docker !== "object")
      throw new OciError("ERR_OCI_SIGSTORE_CONFIG", `${name}: docker must be a mapping`);
    for (const [scope, v] of Object.entries(d.docker as Record<string, unknown>)) {
      const e = entry(v, `docker.${scope}`);
      const old = into.docker.get(scope);
      if (old !== undefined && JSON.stringify(old) !== JSON.stringify(e)) {
        throw new OciError(
          "ERR_OCI_SIGSTORE_CONFIG",
          `${name}: docker scope '${scope}' is defined twice with different values`,
        );
      }
      into.docker.set(scope, e);
    }
  }
  return into;
}

/** Loads every `*.yaml` file of a registries.d directory, in name order. */
export function loadRegistriesD(dir: string): RegistriesD {
  const cfg: RegistriesD = { docker: new Map() };
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith(".yaml") || n.endsWith(".yml"))
      .sort();
  } catch (err) {
    throw new OciError("ERR_OCI_SIGSTORE_CONFIG", `cannot read registries.d directory ${dir}`, {
      cause: err,
    });
  }
  for (const n of names) mergeRegistriesD(cfg, readFileSync(join(dir, n), "utf8"), n);
  return cfg;
}

/** The lookaside entry for an image: full reference, namespaces, wildcards, then default-docker. */
export function lookasideFor(cfg: RegistriesD, ref: ImageReference): LookasideEntry | undefined {
  for (const s of dockerScopes(ref)) {
    const e = cfg.docker.get(s);
    if (e?.lookaside !== undefined || e?.lookasideStaging !== undefined) return e;
  }
  return cfg.defaultDocker;
}

/** The signature directory URL for an image's manifest digest under a lookaside base. */
export function signatureDirUrl(base: string, ref: ImageReference, manifestDigest: string): string {
  const d = parseDigest(manifestDigest);
  return `${base.replace(/\/+$/, "")}/${ref.repository}@${d.algorithm}=${d.hex}`;
}

const MAX_SIGNATURES = 64;
const MAX_SIGNATURE_BYTES = 4 * 1024 * 1024;

/** Fetches lookaside signatures: `file://` read directly, `http(s)://` via `fetchUrl`. */
export async function readLookasideSignatures(
  dirUrl: string,
  fetchUrl?: (url: string) => Promise<Uint8Array | undefined>,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 1; i <= MAX_SIGNATURES; i++) {
    const url = `${dirUrl}/signature-${i}`;
    let bytes: Uint8Array | undefined;
    if (url.startsWith("file://")) {
      try {
        bytes = readFileSync(decodeURIComponent(new URL(url).pathname));
      } catch {
        bytes = undefined;
      }
    } else if (/^https?:\/\//.test(url)) {
      if (fetchUrl === undefined)
        throw new OciError("ERR_OCI_SIGSTORE_CONFIG", "HTTP lookaside needs an HTTP client");
      bytes = await fetchUrl(url);
    } else {
      throw new OciError(
        "ERR_OCI_SIGSTORE_CONFIG",
        `lookaside URL scheme not supported: ${url.slice(0, 20)}`,
      );
    }
    if (bytes === undefined) break;
    if (bytes.byteLength > MAX_SIGNATURE_BYTES)
      throw new OciError("ERR_OCI_TOO_LARGE", `lookaside signature ${i} larger than 4 MiB`);
    out.push(bytes);
  }
  return out;
}
