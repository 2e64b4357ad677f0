/**
 * Test and benchmark support: builds small images from entry lists (tar-stream's packer) into
 * OCI layouts, so tests make their own images and push them to a real registry with skopeo.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { initLayout, tagLayoutManifest, writeLayoutBlob } from "./layout-writer.js";
import type { Descriptor } from "./manifest.js";
import { MediaType } from "./media-types.js";

/** One tar entry to build. */
export interface TestEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "fifo" | "character-device" | "block-device";
  content?: string | Uint8Array;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/** Builds an uncompressed tar from entries (in order). */
export async function buildTar(entries: readonly TestEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((res, rej) => {
    p.on("end", res);
    p.on("error", rej);
  });
  for (const e of entries) {
    const type = e.type ?? "file";
    const body = e.content === undefined ? undefined : Buffer.from(e.content);
    const header: Record<string, unknown> = {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(1_700_000_000_000),
    };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    if (e.pax !== undefined) header.pax = e.pax;
    if (type === "file") header.size = body?.length ?? 0;
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      if (type === "file") p.entry(header as never, body ?? Buffer.alloc(0), cb);
      else p.entry(header as never, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Compresses a tar for a layer. zstd uses the system `zstd` tool (test-only). */
export function compressLayer(
  tar: Buffer,
  compression: "gzip" | "zstd" | "none",
): { blob: Buffer; mediaType: string } {
  if (compression === "none") return { blob: tar, mediaType: MediaType.ociLayerTar };
  if (compression === "gzip")
    return { blob: gzipSync(tar, { level: 6 }), mediaType: MediaType.ociLayerGzip };
  const r = spawnSync("zstd", ["-q", "-c", "-3"], { input: tar, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr}`);
  return { blob: r.stdout, mediaType: MediaType.ociLayerZstd };
}

/** Writes an image with the given layers (tars) to an OCI layout under `tag`. */
export function writeTestImage(
  dir: string,
  tag: string,
  layers: readonly { tar: Buffer; compression?: "gzip" | "zstd" | "none" }[],
  config: Record<string, unknown> = {},
  architecture = "amd64",
): { manifestDigest: string; manifest: Buffer } {
  initLayout(dir);
  const descs: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const l of layers) {
    const { blob, mediaType } = compressLayer(l.tar, l.compression ?? "gzip");
    descs.push({ mediaType, digest: writeLayoutBlob(dir, blob), size: blob.length });
    diffIds.push(`sha256:${createHash("sha256").update(l.tar).digest("hex")}`);
  }
  const cfg = Buffer.from(
    JSON.stringify({
      architecture,
      os: "linux",
      config: { Env: ["PATH=/usr/bin:/bin"], Cmd: ["/bin/sh"], ...config },
      rootfs: { type: "layers", diff_ids: diffIds },
    }),
  );
  const configDesc: Descriptor = {
    mediaType: MediaType.ociConfig,
    digest: writeLayoutBlob(dir, cfg),
    size: cfg.length,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: configDesc,
      layers: descs,
    }),
  );
  const manifestDigest = writeLayoutBlob(dir, manifest);
  tagLayoutManifest(dir, tag, {
    mediaType: MediaType.ociManifest,
    digest: manifestDigest,
    size: manifest.length,
  });
  return { manifestDigest, manifest };
}

import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";

/** One node of a snapshot: type, permissions, owners, and content hash or link target. */
export interface TreeNode {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  content?: string;
}

/** Walks a tree (without following symlinks) into a sorted path → node map for comparisons. */
export function snapshotTree(root: string): Map<string, TreeNode> {
  const out = new Map<string, TreeNode>();
  const walk = (rel: string) => {
    const abs = rel === "" ? root : `${root}/${rel}`;
    for (const name of readdirSync(abs).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(`${root}/${r}`);
      const node: TreeNode = { type: "other", mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) node.type = "dir";
      else if (st.isSymbolicLink()) {
        node.type = "symlink";
        node.content = readlinkSync(`${root}/${r}`);
        node.mode = 0;
      } else if (st.isFile()) {
        node.type = "file";
        node.content = createHash("sha256")
          .update(readFileSync(`${root}/${r}`))
          .digest("hex");
      } else if (st.isFIFO()) node.type = "fifo";
      else if (st.isCharacterDevice()) node.type = `char:${st.rdev}`;
      out.set(r, node);
      if (st.isDirectory()) walk(r);
    }
  };
  walk("");
  return out;
}

import { spawn } from "node:child_process";

/** Runs a tool asynchronously (so in-process servers keep answering); stdin keeps secrets out of argv. */
export function runTool(
  cmd: string,
  args: readonly string[],
  opts: { input?: string | Uint8Array; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, [...args], {
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ status: -1, stdout, stderr: stderr + e.message });
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input);
  });
}

/** Copies `oci:<layout>:<tag>` to `docker://<dest>` with skopeo (plain HTTP); throws on failure. */
export async function skopeoPush(layout: string, tag: string, dest: string): Promise<void> {
  const r = await runTool("skopeo", [
    "copy",
    "--dest-tls-verify=false",
    `oci:${layout}:${tag}`,
    `docker://${dest}`,
  ]);
  if (r.status !== 0) throw new Error(`skopeo copy to ${dest} failed: ${r.stderr}`);
}

/** Writes an OCI index over manifests already in the layout and tags it. */
export function writeTestIndex(
  dir: string,
  tag: string,
  entries: readonly {
    digest: string;
    size: number;
    platform: { os: string; architecture: string };
  }[],
): string {
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: entries.map((e) => ({ mediaType: MediaType.ociManifest, ...e })),
    }),
  );
  const digest = writeLayoutBlob(dir, index);
  tagLayoutManifest(dir, tag, { mediaType: MediaType.ociIndex, digest, size: index.length });
  return digest;
}
