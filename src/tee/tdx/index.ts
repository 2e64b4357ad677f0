export { TD_ATTRIBUTE_BITS, TD_BODY, type TdBodyField, tdField } from "./body.js";
export {
  type EnclaveIdentity,
  parseEnclaveIdentity,
  parseTcbInfo,
  type SignedCollateral,
  type TcbInfo,
  type TcbLevel,
} from "./collateral.js";
export { type PlatformInfo, parsePlatformInfo, SGX_EXT_OID } from "./pck.js";
export {
  type DcapQuote,
  headerField,
  parseDcapQuote,
  QUOTE_HEADER,
  type QuoteBodyType,
} from "./quote.js";
