export {
  AAEL_TAGGED_EVENT_ID,
  type CcEventLog,
  type EventDetails,
  type EventDigest,
  type EventlogEntry,
  parseCcel,
  parseCcelRecords,
  TCG_ALGORITHMS,
  TCG_EVENT_TYPES,
} from "./ccel.js";
export { type ReferenceMeasurement, replayAndMatch, replayRegister } from "./replay.js";
