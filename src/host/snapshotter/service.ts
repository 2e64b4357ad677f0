/**
 * coco-snapshotter's snapshotter semantics, as containerd's proxy snapshotters implement them,
 * for guest pull (what nydus-snapshotter does in its guest-pull / proxy mode):
 *
 *  - An image layer arrives as `Prepare(key, parent)` with the label
 *    `containerd.io/snapshot.ref = <chain id>` (containerd's unpacker). We record a committed
 *    snapshot under that chain id and answer ALREADY_EXISTS, which tells containerd the layer is
 *    already present: it never fetches the layer blob into its content store, never unpacks it.
 *    The guest pulls, verifies and decrypts the image itself.
 *  - A container's root file system is an ordinary `Prepare` (or `View`) on top of the image's
 *    top chain id; its mounts are a read-only bind of an empty folder: nothing of the image is on
 *    the node, and the shim does not use them (the image reference reaches it in the CRI
 *    annotations).
 *
 * Keys, parents and kinds follow containerd's rules (parents must be committed, no removal of a
 * snapshot with children, Commit only of active snapshots, Update only of labels).
 */

import { SnapshotterError } from "./errors.js";
import {
  checkLabels,
  LIMITS,
  type SnapshotKind,
  type SnapshotRecord,
  type SnapshotStore,
} from "./store.js";

/** containerd's label naming the committed snapshot an unpack Prepare would produce. */
export const TARGET_LABEL = "containerd.io/snapshot.ref";

/** One mount, as snapshots.proto's `containerd.types.Mount`. */
export interface MountSpec {
  type: string;
  source: string;
  target: string;
  options: string[];
}

/** The snapshotter operations (the gRPC server adapts them). */
export interface Snapshotter {
  prepare(key: string, parent: string, labels: Record<string, string>): MountSpec[];
  view(key: string, parent: string, labels: Record<string, string>): MountSpec[];
  mounts(key: string): MountSpec[];
  commit(name: string, key: string, labels: Record<string, string>): void;
  remove(key: string): void;
  stat(key: string): SnapshotRecord;
  update(info: { key: string; labels: Record<string, string> }, paths: string[]): SnapshotRecord;
  list(filters: string[]): SnapshotRecord[];
  usage(key: string): { size: number; inodes: number };
}

/** Creates the snapshotter over a store; `emptyDir` is the (empty, read-only) folder mounts bind. */
export function createSnapshotter(
  store: SnapshotStore,
  emptyDir: string,
  now = () => Date.now(),
): Snapshotter {
  const checkKey = (key: string, what: string) => {
    if (key.length === 0) throw new SnapshotterError("ERR_SNAPSHOT_INVALID", `${what} is empty`);
    if (Buffer.byteLength(key) > LIMITS.keyBytes)
      throw new SnapshotterError(
        "ERR_SNAPSHOT_INVALID",
        `${what} is longer than ${LIMITS.keyBytes} bytes`,
      );
  };
  const checkParent = (parent: string) => {
    if (parent === "") return;
    const p = store.get(parent);
    if (p === undefined)
      throw new SnapshotterError(
        "ERR_SNAPSHOT_NOT_FOUND",
        `parent snapshot ${parent} does not exist`,
      );
    if (p.kind !== "committed")
      throw new SnapshotterError(
        "ERR_SNAPSHOT_PRECONDITION",
        `parent snapshot ${parent} is not committed`,
      );
  };
  const mountsOf = (r: SnapshotRecord): MountSpec[] => [
    {
      type: "bind",
      source: emptyDir,
      target: "",
      options: [r.kind === "active" ? "rw" : "ro", "rbind"],
    },
  ];
  const create = (
    key: string,
    parent: string,
    labels: Record<string, string>,
    kind: SnapshotKind,
  ) => {
    checkKey(key, "key");
    checkLabels(labels);
    checkParent(parent);
    const target = labels[TARGET_LABEL];
    if (target !== undefined && kind === "active") {
      // An image layer: record it committed under its chain id and say it is already there.
      checkKey(target, `label ${TARGET_LABEL}`);
      if (store.get(target) === undefined) {
        const t = now();
        store.put({
          key: target,
          parent,
          kind: "committed",
          labels: { ...labels },
          created: t,
          updated: t,
        });
      }
      throw new SnapshotterError(
        "ERR_SNAPSHOT_EXISTS",
        `target snapshot ${target} exists (guest pull: layers stay in the guest)`,
      );
    }
    if (store.get(key) !== undefined)
      throw new SnapshotterError("ERR_SNAPSHOT_EXISTS", `snapshot ${key} already exists`);
    const t = now();
    const r: SnapshotRecord = { key, parent, kind, labels: { ...labels }, created: t, updated: t };
    store.put(r);
    return mountsOf(r);
  };
  const get = (key: string) => {
    const r = store.get(key);
    if (r === undefined)
      throw new SnapshotterError("ERR_SNAPSHOT_NOT_FOUND", `snapshot ${key} does not exist`);
    return r;
  };
  return {
    prepare: (key, parent, labels) => create(key, parent, labels, "active"),
    view: (key, parent, labels) => create(key, parent, labels, "view"),
    mounts(key) {
      const r = get(key);
      if (r.kind === "committed")
        throw new SnapshotterError(
          "ERR_SNAPSHOT_PRECONDITION",
          `snapshot ${key} is committed: it has no mounts`,
        );
      return mountsOf(r);
    },
    commit(name, key, labels) {
      checkKey(name, "name");
      checkLabels(labels);
      const r = get(key);
      if (r.kind !== "active")
        throw new SnapshotterError("ERR_SNAPSHOT_PRECONDITION", `snapshot ${key} is not active`);
      if (store.get(name) !== undefined)
        throw new SnapshotterError("ERR_SNAPSHOT_EXISTS", `snapshot ${name} already exists`);
      const t = now();
      store.rename(key, {
        key: name,
        parent: r.parent,
        kind: "committed",
        labels: { ...labels },
        created: r.created,
        updated: t,
      });
    },
    remove(key) {
      get(key);
      if (store.hasChildren(key))
        throw new SnapshotterError("ERR_SNAPSHOT_PRECONDITION", `snapshot ${key} has children`);
      store.delete(key);
    },
    stat: get,
    update(info, paths) {
      const r = get(info.key);
      let labels = { ...r.labels };
      if (paths.length === 0) labels = { ...info.labels };
      for (const p of paths) {
        if (p === "labels") labels = { ...info.labels };
        else if (p.startsWith("labels.")) {
          const k = p.slice("labels.".length);
          const v = info.labels[k];
          if (v === undefined) delete labels[k];
          else labels[k] = v;
        } else
          throw new SnapshotterError(
            "ERR_SNAPSHOT_INVALID",
            `cannot update field ${p}: only labels change`,
          );
      }
      checkLabels(labels);
      const u = { ...r, labels, updated: now() };
      store.put(u);
      return u;
    },
    list(filters) {
      const preds = filters.map(parseFilter);
      return store
        .all()
        .filter((r) => preds.length === 0 || preds.some((alt) => alt.every((p) => p(r))));
    },
    usage(key) {
      get(key);
      // Nothing of any snapshot is stored on the node.
      return { size: 0, inodes: 0 };
    },
  };
}

type Pred = (r: SnapshotRecord) => boolean;

/**
 * containerd filter expressions, the forms its callers send: `field==value` or `field!=value`
 * over name, parent, kind and `labels."key"` (or `labels.key`), joined with `,` (and); several
 * filters are alternatives (or). Anything else is refused rather than ignored.
 */
export function parseFilter(f: string): Pred[] {
  if (f.length > 4096)
    throw new SnapshotterError("ERR_SNAPSHOT_INVALID", "filter is longer than 4096 bytes");
  return f.split(",").map((term) => {
    const m =
      /^\s*(name|parent|kind|labels\.(?:"([^"]+)"|([A-Za-z0-9_./-]+)))\s*(==|!=)\s*(?:"([^"]*)"|([^,"]*?))\s*$/.exec(
        term,
      );
    if (m === null)
      throw new SnapshotterError(
        "ERR_SNAPSHOT_INVALID",
        `unsupported filter ${JSON.stringify(term)}`,
      );
    const field = m[1] as string;
    const label = m[2] ?? m[3];
    const value = m[5] ?? m[6] ?? "";
    const eq = m[4] === "==";
    const read = (r: SnapshotRecord): string | undefined =>
      label !== undefined
        ? r.labels[label]
        : field === "name"
          ? r.key
          : field === "parent"
            ? r.parent
            : r.kind;
    return (r) => (read(r) === value) === eq;
  });
}
