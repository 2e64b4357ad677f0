import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { buildTar, type TestEntry, writeTestImage } from "../../src/oci/testing.js";
import { BUSYBOX_BIN } from "./busybox-image.js";

/** The annotation `ctr images import` reads an OCI archive's image name from. */
const CONTAINERD_IMAGE_NAME = "io.containerd.image.name";

/**
 * The local pause image the containerd harness configures as CRI's sandbox image. No registry is
 * reachable here, so it is built from Debian's static busybox and imported with `ctr`: a shell
 * that waits for ever and exits 0 on SIGTERM/SIGINT, which is all the pause container has to do
 * for runc's handler (it only holds the pod's namespaces; containerd kills it on stopp).
 */
export const PAUSE_IMAGE = "coco.local/pause:1";

/** A busybox test image imported next to the pause image (for app containers under runc). */
export const BUSYBOX_IMAGE = "coco.local/busybox:1";

const APPLETS = ["sh", "echo", "cat", "sleep", "env", "id", "ls", "true", "false", "printenv"];

/** The entries of a one-layer busybox root filesystem. */
export function busyboxEntries(extra: TestEntry[] = []): TestEntry[] {
  return [
    { name: "bin/", type: "directory" },
    { name: "bin/busybox", content: readFileSync(BUSYBOX_BIN), mode: 0o755 },
    ...APPLETS.map((a) => ({ name: `bin/${a}`, type: "symlink" as const, linkname: "busybox" })),
    { name: "etc/", type: "directory" },
    { name: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\n" },
    { name: "etc/group", content: "root:x:0:\n" },
    { name: "tmp/", type: "directory", mode: 0o1777 },
    { name: "proc/", type: "directory" },
    { name: "dev/", type: "directory" },
    { name: "sys/", type: "directory" },
    ...extra,
  ];
}

/**
 * Writes a one-layer image as an OCI archive (a tar of an OCI layout) whose index names it
 * `name` for `ctr images import`. Returns the manifest digest.
 */
export async function writeImageArchive(
  path: string,
  name: string,
  entries: readonly TestEntry[],
  config: Record<string, unknown>,
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "coco-ociarchive-"));
  try {
    const tag = name.slice(name.lastIndexOf(":") + 1);
    const { manifestDigest } = writeTestImage(dir, tag, [{ tar: await buildTar(entries) }], config);
    const indexPath = join(dir, "index.json");
    const index = JSON.parse(readFileSync(indexPath, "utf8")) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    for (const m of index.manifests)
      m.annotations = { ...m.annotations, [CONTAINERD_IMAGE_NAME]: name };
    writeFileSync(indexPath, JSON.stringify(index));
    const files: TestEntry[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
        a.name.localeCompare(b.name),
      )) {
        const p = join(d, e.name);
        const rel = relative(dir, p);
        if (e.isDirectory()) {
          files.push({ name: `${rel}/`, type: "directory" });
          walk(p);
        } else files.push({ name: rel, content: readFileSync(p) });
      }
    };
    walk(dir);
    writeFileSync(path, await buildTar(files));
    return manifestDigest;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes the pause image archive (see {@link PAUSE_IMAGE}). */
export function writePauseArchive(path: string): Promise<string> {
  return writeImageArchive(path, PAUSE_IMAGE, busyboxEntries(), {
    Entrypoint: ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"],
    Cmd: null,
    Env: ["PATH=/bin"],
  });
}

/** Writes the busybox app image archive (see {@link BUSYBOX_IMAGE}). */
export function writeBusyboxArchive(path: string): Promise<string> {
  return writeImageArchive(path, BUSYBOX_IMAGE, busyboxEntries(), {
    Cmd: ["/bin/sh", "-c", "echo hello from busybox"],
    Env: ["PATH=/bin"],
  });
}
