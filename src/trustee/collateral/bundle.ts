/**
 * The offline collateral bundle: every entry of a collateral cache in one JSON document, exported
 * on a connected machine and imported into an air-gapped Trustee's store. Imported entries are
 * validated for shape and size here; their contents are checked by the verifiers on use, exactly
 * as fetched ones are (signatures, chains to the pinned roots), so a bundle cannot add trust.
 */
import { EvidenceError } from "../../tee/common/errors.js";
import { type CollateralCache, type CollateralEntry, decodeEntry } from "./cache.js";

/** The bundle's format tag. */
export const BUNDLE_FORMAT = "coco-collateral-bundle";
/** Largest bundle accepted. */
export const BUNDLE_MAX_BYTES = 64 * 1024 * 1024;

/** Serialises every entry of `cache`. */
export async function exportCollateralBundle(cache: CollateralCache): Promise<Uint8Array> {
  const entries = (await cache.entries()).map((e) => ({
    url: e.url,
    fetchedAt: e.fetchedAt,
    expiresAt: e.expiresAt,
    headers: e.headers,
    body: Buffer.from(e.body).toString("base64"),
  }));
  return new TextEncoder().encode(
    `${JSON.stringify({ format: BUNDLE_FORMAT, version: 1, entries }, null, 1)}\n`,
  );
}

/** Validates a bundle and stores its entries; returns them. Throws ERR_COLLATERAL_INVALID. */
export async function importCollateralBundle(
  cache: CollateralCache,
  bytes: Uint8Array,
): Promise<CollateralEntry[]> {
  if (bytes.length > BUNDLE_MAX_BYTES) {
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      `collateral bundle is larger than ${BUNDLE_MAX_BYTES} bytes`,
    );
  }
  let doc: { format?: unknown; version?: unknown; entries?: unknown };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (cause) {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", "collateral bundle is not JSON", { cause });
  }
  if (doc?.format !== BUNDLE_FORMAT || doc.version !== 1 || !Array.isArray(doc.entries)) {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `not a ${BUNDLE_FORMAT} version 1 document`);
  }
  // Validate everything before storing anything: no partial import.
  const entries = doc.entries.map((e, i) => decodeEntry(e, `bundle entry ${i}`));
  for (const e of entries) await cache.put(e);
  return entries;
}
