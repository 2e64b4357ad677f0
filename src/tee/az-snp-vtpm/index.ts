export { type HclReport, type HclVarData, parseHclReport, parseHclVarData } from "./hcl.js";
export { parseTpmQuoteMessage, type TpmQuoteInfo } from "./tpm-quote.js";
