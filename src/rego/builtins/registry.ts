import { aggregateBuiltins } from "./aggregates.js";
import { arrayBuiltins } from "./arrays.js";
import { bitsBuiltins } from "./bits.js";
import { cryptoBuiltins } from "./crypto.js";
import { encodingBuiltins } from "./encoding.js";
import { globBuiltins } from "./glob.js";
import { graphBuiltins } from "./graph.js";
import { graphqlBuiltins } from "./graphql.js";
import { jsonBuiltins } from "./json.js";
import { jsonSchemaBuiltins } from "./json-schema.js";
import { jwtBuiltins } from "./jwt.js";
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
import { x509Builtins } from "./x509.js";
import { yamlBuiltins } from "./yaml.js";

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
