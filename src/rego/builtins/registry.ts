import { aggregateBuiltins } from "./aggregates.js";
import { arrayBuiltins } from "./arrays.js";
import { bitsBuiltins } from "./bits.js";
import { cryptoBuiltins } from "./crypto.js";
import { encodingBuiltins } from "./encoding.js";
import { globBuiltins } from "./glob.js";
import { graphBuiltins } from "./graph.js";
import { jsonBuiltins } from "./json.js";
import { jsonSchemaBuiltins } from "./json-schema.js";
import { jwtBuiltins } from "./jwt.js";
import { lazyTable, requireHere } from "./lazy.js";
import { netBuiltins } from "./net.js";
import { numberBuiltins } from "./numbers.js";
import { objectBuiltins } from "./objects.js";
import { opaBuiltins } from "./opa.js";
import { providersBuiltins } from "./providers.js";
import { regexBuiltins } from "./regex.js";
import { regoBuiltins } from "./rego.js";
import { semverBuiltins } from "./semver.js";
import { setBuiltins } from "./sets.js";
import { stringBuiltins } from "./strings.js";
import { timeBuiltins } from "./time.js";
import { typeBuiltins } from "./typecheck.js";
import type { BuiltinTable } from "./types.js";
import { unitsBuiltins } from "./units.js";
import { uriBuiltins } from "./uri.js";
import { uuidBuiltins } from "./uuid.js";
import { yamlBuiltins } from "./yaml.js";

// Loaded on first use (see lazyTable). Each `require` is a literal call so that esbuild bundles
// the module; tsc's output has no `require` (ES modules) and loads it with node's.
type X509Module = typeof import("./x509.js");
type GraphqlModule = typeof import("./graphql.js");

/** Arities of the `crypto.x509.*` builtins (x509.ts). */
export const X509_ARITIES = {
  "crypto.x509.parse_certificates": 1,
  "crypto.x509.parse_and_verify_certificates": 1,
  "crypto.x509.parse_and_verify_certificates_with_options": 2,
  "crypto.x509.parse_certificate_request": 1,
  "crypto.x509.parse_keypair": 2,
};
/** Arities of the `graphql.*` builtins (graphql.ts). */
export const GRAPHQL_ARITIES = {
  "graphql.parse_query": 1,
  "graphql.parse_schema": 1,
  "graphql.parse": 2,
  "graphql.parse_and_verify": 2,
  "graphql.schema_is_valid": 1,
  "graphql.is_valid": 2,
};

const x509Builtins = lazyTable(
  X509_ARITIES,
  () =>
    (typeof require === "function"
      ? (require("./x509.js") as X509Module)
      : (requireHere("./x509.js") as X509Module)
    ).x509Builtins,
);
const graphqlBuiltins = lazyTable(
  GRAPHQL_ARITIES,
  () =>
    (typeof require === "function"
      ? (require("./graphql.js") as GraphqlModule)
      : (requireHere("./graphql.js") as GraphqlModule)
    ).graphqlBuiltins,
);

/**
 * Every builtin namespace table, merged in this order (a test forbids name clashes).
 * Add one import and one entry per namespace file.
 */
const TABLES: ReadonlyArray<BuiltinTable> = [
  aggregateBuiltins,
  arrayBuiltins,
  bitsBuiltins,
  numberBuiltins,
  objectBuiltins,
  opaBuiltins,
  setBuiltins,
  stringBuiltins,
  typeBuiltins,
  regexBuiltins,
  regoBuiltins,
  encodingBuiltins,
  unitsBuiltins,
  jsonBuiltins,
  yamlBuiltins,
  timeBuiltins,
  jwtBuiltins,
  globBuiltins,
  netBuiltins,
  semverBuiltins,
  uuidBuiltins,
  cryptoBuiltins,
  x509Builtins,
  graphBuiltins,
  graphqlBuiltins,
  providersBuiltins,
  jsonSchemaBuiltins,
  uriBuiltins,
];

/** All builtins by full dotted name. */
export const BUILTINS: BuiltinTable = Object.freeze(Object.assign({}, ...TABLES));

/** The tables themselves, for the duplicate-name test. */
export const BUILTIN_TABLES: ReadonlyArray<BuiltinTable> = TABLES;
