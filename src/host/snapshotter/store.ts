/**
 * The snapshot records of coco-snapshotter (containerd's snapshotter semantics: active, view and
 * committed snapshots in parent chains, with labels), persisted as one JSON file written
 * atomically after every change, so containerd and the snapshotter can restart independently.
 * No layer data is ever stored: see service.ts.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { SnapshotterError } from "./errors.js";

/** containerd's snapshot kinds (snapshots.proto `Kind`). */
export type SnapshotKind = "view" | "active" | "committed";

/** One snapshot. `key` is its name (for committed ones, the name they were committed under). */
export interface SnapshotRecord {
  key: string;
  parent: string;
  kind: SnapshotKind;
  labels: Record<string, string>;
  /** Milliseconds since the epoch. */
  created: number;
  updated: number;
}

/** Bounds on what containerd may ask us to keep (it is trusted, but a bug must not grow us without limit). */
export const LIMITS = {
  /** containerd's own bound on one label (key + value). */
  labelBytes: 4096,
  labelsPerSnapshot: 256,
  keyBytes: 4096,
  snapshots: 100_000,
};

/** The persisted records. */
export class SnapshotStore {
  private readonly records = new Map<string, SnapshotRecord>();

  constructor(private readonly file: string | undefined) {
    if (file !== undefined && existsSync(file)) {
      let doc: { version?: number; snapshots?: SnapshotRecord[] };
      try {
        doc = JSON.parse(readFileSync(file, "utf8")) as typeof doc;
      } catch (err) {
        throw new SnapshotterError(
          "ERR_SNAPSHOT_STATE",
          `${file} is not valid JSON: ${(err as Error).message}`,
        );
      }
      if (
        doc === null ||
        typeof doc !== "object" ||
        doc.version !== 1 ||
        !Array.isArray(doc.snapshots)
      )
        throw new SnapshotterError(
          "ERR_SNAPSHOT_STATE",
          `${file} is not a coco-snapshotter state file`,
        );
      for (const r of doc.snapshots) this.records.set(r.key, r);
    }
  }

  get(key: string): SnapshotRecord | undefined {
    return this.records.get(key);
  }

  all(): SnapshotRecord[] {
    return [...this.records.values()];
  }

  /** True when some snapshot has `key` as its parent. */
  hasChildren(key: string): boolean {
    for (const r of this.records.values()) if (r.parent === key) return true;
    return false;
  }

  put(r: SnapshotRecord): void {
    if (!this.records.has(r.key) && this.records.size >= LIMITS.snapshots)
      throw new SnapshotterError("ERR_SNAPSHOT_INVALID", `more than ${LIMITS.snapshots} snapshots`);
    this.records.set(r.key, r);
    this.save();
  }

  delete(key: string): void {
    this.records.delete(key);
    this.save();
  }

  /** Renames `from` to `to` (Commit), in one save. */
  rename(from: string, to: SnapshotRecord): void {
    this.records.delete(from);
    this.records.set(to.key, to);
    this.save();
  }

  private save(): void {
    if (this.file === undefined) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${randomBytes(4).toString("hex")}`;
    writeFileSync(tmp, JSON.stringify({ version: 1, snapshots: this.all() }), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}

/** Throws unless labels stay within {@link LIMITS}. */
export function checkLabels(labels: Record<string, string>): void {
  const entries = Object.entries(labels);
  if (entries.length > LIMITS.labelsPerSnapshot)
    throw new SnapshotterError(
      "ERR_SNAPSHOT_INVALID",
      `more than ${LIMITS.labelsPerSnapshot} labels`,
    );
  for (const [k, v] of entries) {
    if (k.length === 0) throw new SnapshotterError("ERR_SNAPSHOT_INVALID", "empty label key");
    if (Buffer.byteLength(k) + Buffer.byteLength(v) > LIMITS.labelBytes)
      throw new SnapshotterError(
        "ERR_SNAPSHOT_INVALID",
        `label ${k.slice(0, 64)} is longer than ${LIMITS.labelBytes} bytes`,
      );
  }
}
