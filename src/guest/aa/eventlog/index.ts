export {
  decodeWal,
  EVENTLOG_DIR,
  EVENTLOG_FILE,
  type EventLog,
  type EventLogOptions,
  encodeWal,
  openEventLog,
  WAL_FILE,
} from "./eventlog.js";
export {
  AAEL_TAGGED_EVENT_ID,
  type AaelEvent,
  aaelRecord,
  aaelText,
  assertAaelEvent,
  EV_EVENT_TAG,
  parseAaelText,
  TCG_ALG_ID,
  taggedEventBytes,
} from "./record.js";
