export {
  DEFAULT_PLUGIN,
  formatResourceUri,
  isResourceUri,
  kbsPathOf,
  parseResourceUri,
  type ResourceUri,
  ResourceUriError,
  type ResourceUriErrorCode,
  resourceKey,
  resourceUriFromPath,
} from "./resource-uri.js";
