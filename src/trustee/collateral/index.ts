export {
  BUNDLE_FORMAT,
  BUNDLE_MAX_BYTES,
  exportCollateralBundle,
  importCollateralBundle,
} from "./bundle.js";
export {
  AMD_KDS_MIN_INTERVAL_MS,
  COLLATERAL_MAX_BYTES,
  COLLATERAL_NAMESPACE,
  type CollateralCache,
  type CollateralCacheOptions,
  type CollateralEntry,
  type CollateralFetch,
  type CollateralResponse,
  cacheKey,
  createCollateralCache,
  defaultMinInterval,
} from "./cache.js";
export { collateralExpiry, DEFAULT_COLLATERAL_TTL_MS } from "./expiry.js";
