/** Parse limits for JSON, TOML and YAML from the network, enforced before or while parsing. */
export { ParseLimitError, type ParseLimitErrorCode } from "./errors.js";
export {
  createJsonScanner,
  DEFAULT_JSON_LIMITS,
  type JsonLimits,
  type JsonScanner,
  parseJsonLimited,
  parseScannedJson,
} from "./json.js";
export { checkTomlLimits, DEFAULT_TOML_LIMITS, parseTomlLimited, type TomlLimits } from "./toml.js";
export { checkYamlLimits, DEFAULT_YAML_LIMITS, type YamlLimits } from "./yaml.js";
