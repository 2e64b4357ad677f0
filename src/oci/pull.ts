/**
 * Pulling an image into a bundle: resolve the manifest (platform from an index), run the
 * signature policy on every pull (cached or not), fetch the config, then stream each layer
 * through the one-pass pipeline into a staging rootfs while later layers download concurrently.
 * The staging rootfs becomes `BUNDLE/rootfs` only when every layer passed every check.
 */
import { randomBytes } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { runtimeSpec } from "./bundle.js";
import { OciError } from "./errors.js";
import type { DecryptionKeys } from "./layer/keys.js";
import { applyLayer } from "./layer/pipeline.js";
import {
  CONFIG_MAX_BYTES,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type Platform,
  parseImageConfig,
  parseManifestOrIndex,
  selectPlatform,
} from "./manifest.js";
import type { ImageSource } from "./source.js";
import { readAhead, spoolToFile } from "./spool.js";
import type { BlobStore } from "./store.js";
import { defaultUnpackRules, type UnpackRules } from "./unpack/rules.js";
import { acquireUnpackWorker, releaseUnpackWorker, type UnpackWorker } from "./unpack/worker.js";

/** Default bound of the bytes spooled ahead (see {@link PullOptions.prefetchMaxBytes}). */
const DEFAULT_PREFETCH_BYTES = 512 << 20;

/** Default bound of the bytes read ahead into memory (see {@link PullOptions.prefetchMemoryBytes}). */
const DEFAULT_PREFETCH_MEMORY_BYTES = 128 << 20;

/** Layers at least this large (as stored) are unpacked on a worker thread. */
const WORKER_MIN_LAYER_BYTES = 4 << 20;

/** The image identity the signature policy judges. */
export interface ResolvedImage {
  manifestDigest: string;
  /** The index digest when the reference pointed at an index. */
  listDigest?: string;
  manifest: ImageManifest;
}

/** The signature-policy step: throws ERR_OCI_POLICY_DENIED (or another coded error) to refuse. */
export type ImageVerifier = (image: ResolvedImage) => Promise<void>;

/** Progress events for long pulls. */
export type PullProgress =
  | { kind: "manifest"; digest: string; layers: number; bytes: number }
  | { kind: "layer-bytes"; index: number; done: number; total: number }
  | { kind: "layer-done"; index: number; digest: string; bytes: number; entries: number };

/** Inputs for {@link pullImage}. */
export interface PullOptions {
  source: ImageSource;
  /** Tag or digest to fetch. */
  selector: string;
  bundleDir: string;
  /** Runs before any layer is fetched. Required: pass an explicit accept-all to skip checks. */
  verify: ImageVerifier;
  keys?: DecryptionKeys;
  rules?: Partial<UnpackRules>;
  platform?: Platform;
  /** Layers fetched ahead concurrently (default 3). */
  concurrency?: number;
  /**
   * Most bytes of layers spooled ahead at once (default 512 MiB): spool files live in the
   * bundle's filesystem, which in a guest is memory, so a 10 GB layer is never fetched ahead.
   */
  prefetchMaxBytes?: number;
  /**
   * Most bytes of layers read ahead into memory instead of spool files (default 128 MiB): a
   * layer that fits is held as the chunks the connection delivered, which costs no file write
   * and read-back; one that does not is spooled (within `prefetchMaxBytes`) or streams in turn.
   */
  prefetchMemoryBytes?: number;
  onProgress?: (p: PullProgress) => void;
  /** Shares verified layer blobs between pulls (download once). */
  store?: BlobStore;
  /** Write config.json (default true). */
  writeRuntimeConfig?: boolean;
  /**
   * Unpack on a worker thread: `true` for every layer, `false` never, default for layers of
   * at least 4 MiB (a worker costs a thread start, which small images do not repay).
   */
  unpackWorker?: boolean;
}

/** What a pull produced. */
export interface PullResult {
  manifestDigest: string;
  listDigest?: string;
  configDigest: string;
  config: ImageConfig;
  rootfs: string;
  layers: {
    digest: string;
    encrypted: boolean;
    entries: number;
    tarBytes: number;
    cached: boolean;
  }[];
  warnings: string[];
}

/** Resolves a selector to one image manifest (choosing the platform from an index). */
export async function resolveImage(
  source: ImageSource,
  selector: string,
  platform?: Platform,
): Promise<ResolvedImage> {
  const top = await source.getManifest(selector);
  const parsed = parseManifestOrIndex(top.bytes, top.mediaType);
  if (parsed.kind === "manifest") return { manifestDigest: top.digest, manifest: parsed };
  const chosen = selectPlatform(parsed, platform);
  const inner = await source.getManifest(chosen.digest);
  const m = parseManifestOrIndex(inner.bytes, chosen.mediaType);
  if (m.kind !== "manifest")
    throw new OciError("ERR_OCI_MANIFEST", "an index entry points at another index");
  return { manifestDigest: inner.digest, listDigest: top.digest, manifest: m };
}

/** Pulls, verifies, decrypts and unpacks an image into `bundleDir/rootfs` (+ config.json). */
export async function pullImage(o: PullOptions): Promise<PullResult> {
  const image = await resolveImage(o.source, o.selector, o.platform);
  const wanted = (d: Descriptor) => o.unpackWorker ?? d.size >= WORKER_MIN_LAYER_BYTES;
  // Taken now, so that a new worker's thread boots while the policy runs and the config
  // downloads; an idle one left by an earlier pull is reused.
  const worker = image.manifest.layers.some(wanted) ? acquireUnpackWorker() : undefined;
  let ok = false;
  try {
    const r = await pullResolved(o, image, (d) => (wanted(d) ? worker : undefined));
    ok = true;
    return r;
  } finally {
    // After a failure the worker is not kept: nothing of a refused image lingers anywhere.
    if (worker !== undefined) {
      if (ok) releaseUnpackWorker(worker);
      else await worker.close();
    }
  }
}

async function pullResolved(
  o: PullOptions,
  image: ResolvedImage,
  workerFor: (d: Descriptor) => UnpackWorker | undefined,
): Promise<PullResult> {
  const rules = { ...defaultUnpackRules(), ...o.rules };
  // Verified on every pull: there is no cache path that skips the policy (upstream quirk fixed).
  await o.verify(image);
  const m = image.manifest;
  const configBytes = await o.source.getBlobBytes(m.config.digest, CONFIG_MAX_BYTES);
  const config = parseImageConfig(configBytes);
  if (config.rootfs.diff_ids.length !== m.layers.length) {
    throw new OciError(
      "ERR_OCI_MANIFEST",
      `manifest has ${m.layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`,
    );
  }
  o.onProgress?.({
    kind: "manifest",
    digest: image.manifestDigest,
    layers: m.layers.length,
    bytes: m.layers.reduce((a, l) => a + l.size, 0),
  });
  const rootfs = join(o.bundleDir, "rootfs");
  if (existsSync(rootfs)) throw new OciError("ERR_OCI_UNPACK", `${rootfs} already exists`);
  mkdirSync(o.bundleDir, { recursive: true });
  const work = join(o.bundleDir, `.coco-pull-${randomBytes(6).toString("hex")}`);
  const staging = join(work, "rootfs");
  mkdirSync(staging, { recursive: true, mode: 0o755 });
  const spools = new Map<number, Promise<string>>();
  const inMemory = new Map<number, Promise<Readable>>();
  const result: PullResult["layers"] = [];
  const warnings: string[] = [];
  try {
    const ahead = Math.max(0, (o.concurrency ?? 3) - 1);
    let prefetchLeft = o.prefetchMaxBytes ?? DEFAULT_PREFETCH_BYTES;
    let memoryLeft = o.prefetchMemoryBytes ?? DEFAULT_PREFETCH_MEMORY_BYTES;
    const inStore = (d: Descriptor) => {
      const s = o.store?.open(d.digest, d.size);
      s?.destroy();
      return s !== undefined;
    };
    const spool = (i: number) => {
      const d = m.layers[i];
      if (d === undefined || spools.has(i) || inMemory.has(i) || inStore(d)) return;
      if (d.size <= memoryLeft) {
        memoryLeft -= d.size;
        const p = (async () => readAhead(await o.source.openBlob(d), d.size))();
        p.catch(() => {});
        inMemory.set(i, p);
        return;
      }
      // Spooled layers occupy the bundle's filesystem (guest memory on tmpfs) until their
      // turn: only as many bytes ahead as the budget allows; a bigger layer streams in turn.
      if (d.size > prefetchLeft) return;
      prefetchLeft -= d.size;
      const p = (async () => {
        const file = join(work, `blob-${i}`);
        await spoolToFile(await o.source.openBlob(d), file, d.size);
        return file;
      })();
      p.catch(() => {});
      spools.set(i, p);
    };
    for (let i = 0; i < m.layers.length; i++) {
      for (let j = i + 1; j <= i + ahead; j++) spool(j);
      const d = m.layers[i]!;
      let blob: Readable;
      const spooled = spools.get(i);
      const held = inMemory.get(i);
      const cached =
        spooled === undefined && held === undefined ? o.store?.open(d.digest, d.size) : undefined;
      let capture: ReturnType<BlobStore["capture"]> | undefined;
      if (cached !== undefined) blob = cached;
      else {
        blob =
          spooled !== undefined
            ? createReadStream(await spooled, { highWaterMark: 1 << 20 })
            : held !== undefined
              ? await held
              : await o.source.openBlob(d);
        // A spooled blob is adopted into the store after the checks; a streamed one is copied.
        if (o.store !== undefined && spooled === undefined) {
          capture = o.store.capture(d.digest);
          const through = capture.through;
          blob.once("error", (e) => through.destroy(e));
          blob = blob.pipe(through);
        }
      }
      let r: Awaited<ReturnType<typeof applyLayer>>;
      const onWorker = workerFor(d);
      try {
        r = await applyLayer({
          blob,
          descriptor: d,
          diffId: config.rootfs.diff_ids[i]!,
          root: staging,
          rules,
          ...(o.keys ? { keys: o.keys } : {}),
          ...(onWorker ? { worker: onWorker } : {}),
          ...(o.onProgress
            ? {
                onBytes: (done: number) =>
                  o.onProgress?.({ kind: "layer-bytes", index: i, done, total: d.size }),
              }
            : {}),
        });
      } catch (err) {
        capture?.discard();
        // A stored blob that fails its checks is damaged: drop it so the next pull downloads it.
        if (cached !== undefined) o.store?.evict(d.digest);
        throw err;
      }
      capture?.commit();
      if (held !== undefined) {
        inMemory.delete(i);
        memoryLeft += d.size;
      }
      if (spooled !== undefined) {
        if (o.store !== undefined) o.store.adopt(await spooled, d.digest);
        else rmSync(await spooled, { force: true });
        prefetchLeft += d.size;
      }
      result.push({
        digest: d.digest,
        encrypted: r.encrypted,
        entries: r.entries,
        tarBytes: r.tarBytes,
        cached: cached !== undefined,
      });
      warnings.push(...r.warnings);
      o.onProgress?.({
        kind: "layer-done",
        index: i,
        digest: d.digest,
        bytes: d.size,
        entries: r.entries,
      });
    }
    renameSync(staging, rootfs);
  } catch (err) {
    // Layers read ahead are dropped (their connections closed), spools finish, then go.
    for (const p of inMemory.values())
      p.then(
        (s) => s.destroy(),
        () => {},
      );
    await Promise.allSettled(spools.values());
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  rmSync(work, { recursive: true, force: true });
  if (o.writeRuntimeConfig !== false) {
    const spec = runtimeSpec(config, rootfs);
    const tmp = join(o.bundleDir, `.config.json.${randomBytes(4).toString("hex")}`);
    writeFileSync(tmp, `${JSON.stringify(spec, null, 2)}\n`, { mode: 0o644 });
    renameSync(tmp, join(o.bundleDir, "config.json"));
  }
  const out: PullResult = {
    manifestDigest: image.manifestDigest,
    configDigest: m.config.digest,
    config,
    rootfs,
    layers: result,
    warnings,
  };
  if (image.listDigest !== undefined) out.listDigest = image.listDigest;
  return out;
}

/** A verifier that accepts every image (an explicit choice, e.g. no policy configured). */
export const acceptAnything: ImageVerifier = async () => {};

export type { Descriptor };
