import { CocoError } from "../../errors.js";

/** Codes for coco-snapshotter failures; the gRPC edge maps them to status codes. */
export type SnapshotterErrorCode =
  /** No snapshot by that key (gRPC NOT_FOUND). */
  | "ERR_SNAPSHOT_NOT_FOUND"
  /** The key exists already (gRPC ALREADY_EXISTS; also how a layer is said to be present). */
  | "ERR_SNAPSHOT_EXISTS"
  /** The snapshot is in the wrong state for the call (gRPC FAILED_PRECONDITION). */
  | "ERR_SNAPSHOT_PRECONDITION"
  /** A malformed request (gRPC INVALID_ARGUMENT). */
  | "ERR_SNAPSHOT_INVALID"
  /** The state file is unreadable (the snapshotter refuses to start). */
  | "ERR_SNAPSHOT_STATE";

/** A coco-snapshotter failure. */
export class SnapshotterError extends CocoError<SnapshotterErrorCode> {}
