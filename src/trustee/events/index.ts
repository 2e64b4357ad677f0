/** Attestation events: what Trustee decided, recorded, bounded, queried and streamed. */
export {
  EVENT_NAMESPACE,
  MAX_BATCH_BYTES,
} from "./batches.js";
export {
  appraisalOf,
  clip,
  compareEvents,
  EventError,
  type EventErrorCode,
  type EventFailure,
  type EventSubject,
  jwkThumbprint,
  type TrusteeEvent,
  type TrusteeEventInput,
  type TrusteeEventKind,
  type TrusteeEventVerdict,
} from "./event.js";
export {
  DEFAULT_EVENT_LIMIT,
  EVENT_QUERY_PARAMS,
  type EventFilter,
  MAX_EVENT_LIMIT,
  matchesFilter,
  parseEventFilter,
} from "./filter.js";
export {
  createEventRecorder,
  type EventRecorder,
  type EventRecorderOptions,
  type EventRecorderStats,
} from "./recorder.js";
