export { fromBase64, fromHex, regularize, toBase64, toHex } from "./bytes.js";
export { type Clock, systemClock } from "./certs.js";
export { EvidenceError, type EvidenceErrorCode } from "./errors.js";
