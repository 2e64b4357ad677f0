/**
 * The one place that turns configuration into the Attestation Service's hardware verifiers, used
 * by `coco trustee` (upstream's `[attestation_service.verifier_config]`, see
 * {@link createVerifiersFromConfig}) and by `coco attest verify` (options, see
 * {@link createHardwareVerifiers}). Everything is offline unless a KDS source is configured.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Clock } from "../tee/common/certs.js";
import type { DcapQuote } from "../tee/tdx/quote.js";
import { createAzSnpVtpmVerifier } from "./as/verifier/az-snp-vtpm/index.js";
import { createAzTdxVtpmVerifier } from "./as/verifier/az-tdx-vtpm/index.js";
import {
  type CcaReferenceValues,
  type CcaTrustAnchor,
  ccaStoresFromFiles,
  createCcaVerifier,
} from "./as/verifier/cca/index.js";
import {
  type HttpGet as CsvHttpGet,
  createCsvVerifier,
  HYGON_CERT_DIR,
  HYGON_KDS_URL,
} from "./as/verifier/csv/index.js";
import {
  createNvidiaVerifier,
  type NvidiaReferenceMeasurements,
  parseNvidiaReferenceMeasurements,
} from "./as/verifier/nvidia/index.js";
import { createSampleVerifier } from "./as/verifier/sample/verifier.js";
import { createSgxVerifier } from "./as/verifier/sgx/index.js";
import {
  AMD_KDS_URL,
  createKdsVcekFetcher,
  createOfflineVcekSource,
  createSnpVerifier,
  type HttpGet,
  type ReadFile,
  snpVendorFromDir,
  snpVendorOrShipped,
  type VcekSource,
} from "./as/verifier/snp/index.js";
import type { DcapCollateral } from "./as/verifier/tdx/collateral.js";
import { hasDcapCollateral, readDcapCollateralDir } from "./as/verifier/tdx/collateral-dir.js";
import { createTdxVerifier } from "./as/verifier/tdx/index.js";
import { fetchDcapCollateral, type HttpGetWithHeaders } from "./as/verifier/tdx/pcs.js";
import { createTpmVerifier } from "./as/verifier/tpm/index.js";
import type { Verifier } from "./as/verifier/types.js";
import { TrusteeConfigError } from "./config.js";

/** The file's bytes, or undefined when it does not exist. */
export const readIfExists: ReadFile = (p) =>
  existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;

/** Options of {@link createHardwareVerifiers}. */
export interface HardwareVerifierOptions {
  /**
   * One directory with AMD's `<gen>-ask-ark-asvk-bundle.pem` files and a VCEK store
   * `vcek/<hwid>/...` (the layout `coco attest collateral fetch` writes).
   */
  collateralDir?: string;
  /** AMD's bundles, if not in `collateralDir` (config: `snp_verifier.vendor_certs_dir`). */
  vendorCertsDir?: string;
  /** Offline VCEK stores consulted in order (default: `collateralDir` when given). */
  vcekStores?: string[];
  /** Fetch a VCEK no store has from this KDS; only when set (config: a `KDS` vcek source). */
  kds?: { baseUrl: string; get: HttpGet };
  /** DCAP collateral for tdx/sgx (TCB status); a TEE whose files are absent is not appraised. */
  dcapCollateralDir?: string;
  /**
   * Fetch DCAP collateral per quote from Intel PCS or a PCCS (through Trustee's collateral
   * cache) for a TEE with no files in `dcapCollateralDir` (config: `collateral_service`).
   */
  dcapFetch?: { pcsUrl: string; get: HttpGetWithHeaders };
  /** CCA trust anchors (CPAKs) and platform reference values; without them no `cca` verifier. */
  cca?: { trustAnchors: CcaTrustAnchor[]; referenceValues?: CcaReferenceValues };
  /** Reference measurements every NVIDIA GPU measurement block must match (optional). */
  nvidiaReferenceMeasurements?: NvidiaReferenceMeasurements;
  /**
   * Hygon CSV: HSK/CEK stores (default upstream's `/opt/hygon/csv`), Hygon's KDS (only when
   * given), PEK-only trust (default refused).
   */
  csv?: {
    hskCekDirs?: string[];
    kds?: { baseUrl: string; get: CsvHttpGet };
    allowPekOnly?: boolean;
  };
  clock?: Clock;
  /** Receives warnings (TCB status not appraised). */
  log?: (line: string) => void;
}

function dcapFor(o: HardwareVerifierOptions, tee: "tdx" | "sgx"): DcapCollateral | undefined {
  const dir = o.dcapCollateralDir;
  if (dir === undefined || !hasDcapCollateral(dir, tee, readIfExists)) return undefined;
  return readDcapCollateralDir(dir, tee, readIfExists);
}

/**
 * The hardware verifiers: tdx, sgx and az-tdx-vtpm always (Intel's root is pinned), TCB status
 * appraised where DCAP collateral is given; snp and az-snp-vtpm when AMD's bundles are given.
 */
export function createHardwareVerifiers(o: HardwareVerifierOptions = {}): Verifier[] {
  const clock = o.clock;
  const tdx = dcapFor(o, "tdx");
  const sgx = dcapFor(o, "sgx");
  const fetched = o.dcapFetch;
  const collateralFor = (tee: "tdx" | "sgx") =>
    fetched
      ? (q: DcapQuote) =>
          fetchDcapCollateral(q, tee, fetched.get, {
            pcsUrl: fetched.pcsUrl,
            clock: clock ?? (() => new Date()),
          })
      : undefined;
  const unappraised = [
    ...(tdx || fetched ? [] : ["tdx"]),
    ...(tdx || fetched ? [] : ["az-tdx-vtpm"]),
    ...(sgx || fetched ? [] : ["sgx"]),
  ];
  if (unappraised.length > 0) {
    o.log?.(
      `trustee: WARNING: ${unappraised.join(", ")} check quote signatures and the PCK chain only; TCB status is not appraised (give dcap_verifier.collateral_dir)`,
    );
  }
  const out: Verifier[] = [
    createTdxVerifier({ clock, collateral: tdx, collateralFor: collateralFor("tdx") }),
    createSgxVerifier({ clock, collateral: sgx, collateralFor: collateralFor("sgx") }),
    createAzTdxVtpmVerifier({ clock, collateral: tdx, collateralFor: collateralFor("tdx") }),
  ];
  // NVIDIA's device root is pinned, so local GPU verification needs no configuration (upstream's
  // default `nvidia_verifier` type is Local too).
  out.push(createNvidiaVerifier({ referenceMeasurements: o.nvidiaReferenceMeasurements, clock }));
  // TPM evidence carries its AK; the attestation policy decides whether it is trusted.
  out.push(createTpmVerifier());
  if (o.cca) out.push(createCcaVerifier(o.cca));
  // Hygon's root (HRK) ships with the product; HSK/CEK come from the evidence, the stores, or
  // Hygon's KDS when configured. Evidence with none of them is refused unless PEK-only is allowed.
  out.push(
    createCsvVerifier({
      hskCekDirs: o.csv?.hskCekDirs ?? [HYGON_CERT_DIR],
      kds: o.csv?.kds,
      allowPekOnly: o.csv?.allowPekOnly ?? false,
      readFile: readIfExists,
    }),
  );
  // AMD's ARK/ASK/ASVK ship with the product; an explicit vendor_certs_dir must hold bundles,
  // a collateral directory may (else the shipped ones are used).
  const vendor = o.vendorCertsDir
    ? snpVendorFromDir(o.vendorCertsDir, readIfExists, clock ?? (() => new Date()))
    : snpVendorOrShipped(o.collateralDir, readIfExists, clock ?? (() => new Date()));
  const stores = (o.vcekStores ?? (o.collateralDir ? [o.collateralDir] : [])).map((d) =>
    createOfflineVcekSource(d, readIfExists),
  );
  const vcekSource: VcekSource | undefined =
    stores.length === 0
      ? undefined
      : (r, g) => stores.reduce((f, s) => f ?? s(r, g), undefined as Uint8Array | undefined);
  out.push(
    createSnpVerifier({
      vendor,
      vcekSource,
      kdsFetch: o.kds ? createKdsVcekFetcher(o.kds.baseUrl, o.kds.get) : undefined,
      clock,
    }),
    createAzSnpVtpmVerifier({ vendor, clock }),
  );
  return out;
}

/** What {@link createVerifiersFromConfig} needs besides the table. */
export interface VerifierConfigDeps {
  log?: (line: string) => void;
  /** HTTP GET for a `KDS` vcek source (I/O passed in); without it such a source is refused. */
  httpGet?: HttpGet;
  /** HTTP GET with headers for `dcap_verifier.collateral_service` (Trustee's collateral cache). */
  httpGetWithHeaders?: HttpGetWithHeaders;
  clock?: Clock;
}

function fail(msg: string, cause?: unknown): never {
  throw new TrusteeConfigError("ERR_TRUSTEE_CONFIG", msg, { cause });
}

function table(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(`${where} must be a table`);
  return v as Record<string, unknown>;
}

function onlyKeys(t: Record<string, unknown>, where: string, keys: readonly string[]): void {
  for (const k of Object.keys(t)) if (!keys.includes(k)) fail(`unknown key ${where}.${k}`);
}

function optionalString(
  t: Record<string, unknown>,
  key: string,
  where: string,
): string | undefined {
  const v = t[key];
  if (v !== undefined && typeof v !== "string") fail(`${where}.${key} must be a string`);
  return v;
}

/** `snp_verifier` → the SNP part of {@link HardwareVerifierOptions}. */
function snpOptions(
  t: Record<string, unknown>,
  where: string,
  deps: VerifierConfigDeps,
): Pick<HardwareVerifierOptions, "vendorCertsDir" | "vcekStores" | "kds"> {
  onlyKeys(t, where, ["vendor_certs_dir", "vcek_sources"]);
  // Optional: AMD's ASK/ARK/ASVK ship with the product (as upstream embeds them).
  const vendorCertsDir = optionalString(t, "vendor_certs_dir", where);
  // Upstream's default is [{ type = "KDS" }]; ours is [] so that Trustee never reaches the
  // network unless the operator lists a KDS source (issue: offline by default). Documented.
  const sources = t.vcek_sources ?? [];
  if (!Array.isArray(sources)) fail(`${where}.vcek_sources must be an array`);
  const vcekStores: string[] = [];
  let kds: HardwareVerifierOptions["kds"];
  for (const [i, s] of sources.entries()) {
    const at = `${where}.vcek_sources[${i}]`;
    const src = table(s, at);
    if (src.type === "OfflineStore") {
      onlyKeys(src, at, ["type", "path"]);
      // Upstream's default store path.
      vcekStores.push(
        optionalString(src, "path", at) ??
          "/opt/confidential-containers/attestation-service/kds-store",
      );
    } else if (src.type === "KDS") {
      onlyKeys(src, at, ["type", "base_url"]);
      const baseUrl = optionalString(src, "base_url", at) ?? AMD_KDS_URL;
      if (!/^https?:\/\//.test(baseUrl)) fail(`${at}.base_url must be an http(s) URL`);
      if (deps.httpGet === undefined) fail(`${at}: no HTTP client was given to fetch VCEKs`);
      if (kds !== undefined) fail(`${at}: only one KDS source is supported`);
      kds = { baseUrl, get: deps.httpGet };
    } else {
      fail(`${at}.type must be "OfflineStore" or "KDS"`);
    }
  }
  return { ...(vendorCertsDir ? { vendorCertsDir } : {}), vcekStores, ...(kds ? { kds } : {}) };
}

/**
 * `cca_verifier` → CCA stores. Upstream reads `{"cca-verifier": {"type": "local", "ta-store",
 * "rv-store"}}` from the file named by `CCA_CONFIG_FILE`; we take the same keys inline
 * (`type`, `ta_store`, `rv_store`). The `remote` (Veraison) type is not implemented.
 */
function ccaOptions(
  t: Record<string, unknown>,
  where: string,
): Pick<HardwareVerifierOptions, "cca"> {
  onlyKeys(t, where, ["type", "ta_store", "rv_store"]);
  const type = t.type ?? "local";
  if (type === "remote")
    fail(`${where}.type = "remote" (a Veraison service) is not implemented; use "local"`);
  if (type !== "local") fail(`${where}.type must be "local"`);
  const ta = optionalString(t, "ta_store", where);
  if (ta === undefined) fail(`${where}.ta_store is required (a JSON list of CPAKs)`);
  const rv = optionalString(t, "rv_store", where);
  try {
    return { cca: ccaStoresFromFiles(ta, rv, readIfExists) };
  } catch (err) {
    fail(`${where}: ${(err as Error).message}`, err);
  }
}

/**
 * `nvidia_verifier` → upstream's `type = "Local"` (default; "local" accepted) plus our
 * `reference_measurements = FILE` (JSON `{"<index>": ["<hex>", ...]}`). `Remote` (NVIDIA's NRAS
 * service, which needs a licence agreement and the network) is not implemented.
 */
function nvidiaOptions(
  t: Record<string, unknown>,
  where: string,
): Pick<HardwareVerifierOptions, "nvidiaReferenceMeasurements"> {
  onlyKeys(t, where, ["type", "verifier_url", "reference_measurements"]);
  const type = t.type ?? "Local";
  if (type === "Remote" || type === "remote") {
    fail(`${where}.type = "Remote" (NVIDIA NRAS) is not implemented; use "Local"`);
  }
  if (type !== "Local" && type !== "local") fail(`${where}.type must be "Local" or "Remote"`);
  if (t.verifier_url !== undefined) fail(`${where}.verifier_url applies to type "Remote" only`);
  const file = optionalString(t, "reference_measurements", where);
  if (file === undefined) return {};
  const bytes = readIfExists(file);
  if (bytes === undefined) fail(`${where}.reference_measurements: ${file} does not exist`);
  try {
    return {
      nvidiaReferenceMeasurements: parseNvidiaReferenceMeasurements(
        Buffer.from(bytes).toString("utf8"),
        file,
      ),
    };
  } catch (err) {
    fail(`${where}.reference_measurements: ${(err as Error).message}`, err);
  }
}

/**
 * `csv_verifier` (ours; upstream's CSV verifier takes no configuration and always reads
 * `/opt/hygon/csv/hsk_cek/<chip>/hsk_cek.cert`, then fetches from Hygon's KDS):
 * `hsk_cek_dir` (default `/opt/hygon/csv`), `kds_url` (Hygon's KDS or a mirror, fetched through
 * the collateral cache; unset = offline, as `snp_verifier`), `allow_pek_only` (default false).
 */
function csvOptions(
  t: Record<string, unknown>,
  where: string,
  deps: VerifierConfigDeps,
): Pick<HardwareVerifierOptions, "csv"> {
  onlyKeys(t, where, ["hsk_cek_dir", "kds_url", "allow_pek_only"]);
  const dir = optionalString(t, "hsk_cek_dir", where);
  const kdsUrl = optionalString(t, "kds_url", where);
  if (kdsUrl !== undefined && !/^https?:\/\//.test(kdsUrl))
    fail(`${where}.kds_url must be an http(s) URL (${HYGON_KDS_URL})`);
  if (kdsUrl !== undefined && deps.httpGet === undefined)
    fail(`${where}: no HTTP client was given to fetch HSK/CEK certificates`);
  const allow = t.allow_pek_only ?? false;
  if (typeof allow !== "boolean") fail(`${where}.allow_pek_only must be a boolean`);
  if (allow) {
    deps.log?.(
      "trustee: WARNING: csv_verifier.allow_pek_only = true: CSV evidence whose HSK/CEK are unavailable is accepted on its PEK alone (not traced to Hygon's root); its claims carry pek_only = true",
    );
  }
  return {
    csv: {
      hskCekDirs: [dir ?? HYGON_CERT_DIR],
      ...(kdsUrl && deps.httpGet ? { kds: { baseUrl: kdsUrl, get: deps.httpGet } } : {}),
      allowPekOnly: allow,
    },
  };
}

/** `dcap_verifier` → the DCAP part of {@link HardwareVerifierOptions}. */
function dcapOptions(
  t: Record<string, unknown>,
  where: string,
  deps: VerifierConfigDeps,
): Pick<HardwareVerifierOptions, "dcapCollateralDir" | "dcapFetch"> {
  onlyKeys(t, where, [
    "tcb_update_type",
    "collateral_service",
    "use_secure_cert",
    "collateral_dir",
  ]);
  if (t.use_secure_cert !== undefined && t.use_secure_cert !== true) {
    fail(`${where}.use_secure_cert: TLS certificates of the collateral service are always checked`);
  }
  let dcapFetch: HardwareVerifierOptions["dcapFetch"];
  const service = optionalString(t, "collateral_service", where);
  if (service !== undefined) {
    // Upstream also takes file:// JSON from Intel's PcsClientTool; not implemented here.
    if (!/^https?:\/\//.test(service))
      fail(`${where}.collateral_service must be an http(s) URL (PCS or PCCS)`);
    if (deps.httpGetWithHeaders === undefined)
      fail(`${where}: no HTTP client was given to fetch collateral`);
    dcapFetch = {
      pcsUrl: service.replace(/\/sgx\/certification\/v4\/?$/, ""),
      get: deps.httpGetWithHeaders,
    };
  }
  const update = t.tcb_update_type;
  if (update !== undefined && update !== "early" && update !== "standard") {
    fail(`${where}.tcb_update_type must be "early" or "standard"`);
  }
  const dir = optionalString(t, "collateral_dir", where);
  if (dir === undefined) return dcapFetch ? { dcapFetch } : {};
  if (
    !hasDcapCollateral(dir, "tdx", readIfExists) &&
    !hasDcapCollateral(dir, "sgx", readIfExists)
  ) {
    fail(`${where}.collateral_dir: no tcb-info-tdx.json or tcb-info-sgx.json in ${dir}`);
  }
  return { dcapCollateralDir: dir, ...(dcapFetch ? { dcapFetch } : {}) };
}

/**
 * Builds the verifier list from upstream's `verifier_config` table (already TOML-parsed):
 * `sample` and `sampledevice` always; tdx, sgx and az-tdx-vtpm always (a warning is logged while
 * TCB status is not appraised); snp and az-snp-vtpm with `snp_verifier`. Our additions:
 * `dcap_verifier.collateral_dir` (offline TCB Info, QE Identity, CRLs) and
 * `snp_verifier.vendor_certs_dir` (AMD's bundles, which upstream embeds). Other verifiers are
 * refused by name.
 */
export function createVerifiersFromConfig(
  verifierConfig: Record<string, unknown>,
  deps: VerifierConfigDeps = {},
): Verifier[] {
  let opts: HardwareVerifierOptions = {};
  for (const [name, value] of Object.entries(verifierConfig)) {
    const where = `attestation_service.verifier_config.${name}`;
    const t = table(value, where);
    if (name === "snp_verifier") opts = { ...opts, ...snpOptions(t, where, deps) };
    else if (name === "dcap_verifier") opts = { ...opts, ...dcapOptions(t, where, deps) };
    else if (name === "cca_verifier") opts = { ...opts, ...ccaOptions(t, where) };
    else if (name === "nvidia_verifier") opts = { ...opts, ...nvidiaOptions(t, where) };
    else if (name === "csv_verifier") opts = { ...opts, ...csvOptions(t, where, deps) };
    // Upstream's TpmVerifierConfig is an empty struct (its documented keys are ignored there).
    else if (name === "tpm_verifier") onlyKeys(t, where, []);
    else
      fail(
        `${where} is not implemented (snp_verifier, dcap_verifier, cca_verifier, nvidia_verifier, tpm_verifier and csv_verifier are)`,
      );
  }
  let hardware: Verifier[];
  try {
    hardware = createHardwareVerifiers({ ...opts, clock: deps.clock, log: deps.log });
  } catch (err) {
    if (err instanceof TrusteeConfigError) throw err;
    fail(`attestation_service.verifier_config: ${(err as Error).message}`, err);
  }
  return [createSampleVerifier("sample"), createSampleVerifier("sampledevice"), ...hardware];
}
